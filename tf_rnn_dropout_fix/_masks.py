"""Variational masks and Keras' ``training``: one set per sequence in every mode (DESIGN 3.5, 3.8).

The stock wrapper draws its variational noise once, in ``__init__``.  In a TF1 graph that is a
random op, so every ``Session.run`` gets a new mask; in eager mode and inside ``tf.function`` it
is a constant, and the same units are dropped for every batch, forever.

Here a sequence starts where ``_sequences`` says (every call of a Keras RNN layer, of
``dynamic_rnn`` and its family, and every ``zero_state`` / ``get_initial_state``): in eager mode
and while tracing a function, the wrapper then draws new noise, exactly as the stock constructor
does (same shapes, same per-leaf seeds), and the steps of that sequence use it.  Noise drawn
inside a function belongs to that function's graph and is found from the loop and branch bodies
nested in it (TF 2's control-flow function graphs); TF1 graphs keep the stock noise.  A sequence
a Keras RNN layer starts also records the ``training`` Keras resolved for that call.
"""
import weakref

from tf_rnn_dropout_fix import _compat

NOISE_KINDS = ("input", "state", "output")


class SequenceMasks(object):
    """What one sequence uses: per kind a structure like the stock ``_recurrent_*_noise``.

    ``training`` is what Keras resolved for the layer call that started the sequence (None
    outside Keras); ``used`` turns true at its first step.
    """
    __slots__ = ("input", "state", "output", "gate_seed", "training", "used")

    def __init__(self, input=None, state=None, output=None, gate_seed=None, training=None):
        self.input, self.state, self.output, self.gate_seed = input, state, output, gate_seed
        self.training, self.used = training, False


class MaskBook(object):
    """Per wrapper: the construction-time masks and those drawn per sequence, by graph."""
    __slots__ = ("sizes", "dtype", "at_construction", "by_graph", "eager")

    def __init__(self, wrapper, input_size, dtype, gate_seed):
        self.sizes = {"input": input_size,
                      "state": _compat.wrapped_cell(wrapper).state_size,
                      "output": _compat.wrapped_cell(wrapper).output_size}
        self.dtype = dtype
        self.at_construction = SequenceMasks(gate_seed=gate_seed, **{
            kind: getattr(wrapper, "_recurrent_%s_noise" % kind, None) for kind in NOISE_KINDS})
        self.by_graph = weakref.WeakKeyDictionary()
        self.eager = None


def _default_graph():
    from tensorflow.python.framework import ops
    return ops.get_default_graph()


def _draw_noise(wrapper, kind, size_structure, dtype):
    """New noise for one kind, as the stock constructor draws it: shape [1] + size, per leaf."""
    from tensorflow.python.framework import tensor_shape
    from tensorflow.python.ops import random_ops
    nest = _compat.tf_modules()[-1]
    noises = [random_ops.random_uniform([1] + tensor_shape.TensorShape(size).as_list(),
                                        seed=wrapper._gen_seed(kind, index), dtype=dtype)
              for index, size in enumerate(nest.flatten(size_structure))]
    return nest.pack_sequence_as(size_structure, noises)


def start_sequence(wrapper, book, gate_seed_fn, training=None):
    """A new sequence: new masks in eager mode or while tracing a function, Keras' ``training``.

    A sequence that has not stepped yet is not started again (``keras.layers.RNN`` asks for the
    initial state, then starts the sequence itself): it only takes ``training``.
    """
    eager = _compat.executing_eagerly()
    graph = None if eager else _default_graph()
    started = book.eager if eager else book.by_graph.get(graph)
    if started is not None and not started.used:
        if training is not None:
            started.training = training
        return
    done = book.at_construction
    if wrapper._variational_recurrent and (eager or getattr(graph, "building_function", False)):
        masks = SequenceMasks(gate_seed=gate_seed_fn() if done.gate_seed is not None else None, **{
            kind: _draw_noise(wrapper, kind, book.sizes[kind], book.dtype)
            if getattr(done, kind) is not None else None for kind in NOISE_KINDS})
        masks.training = training
    elif training is not None:         # a TF1 graph or no variational noise: the stock masks
        masks = SequenceMasks(done.input, done.state, done.output, done.gate_seed, training)
    else:
        masks = None
    if eager:
        book.eager = masks
    elif masks is None:
        book.by_graph.pop(graph, None)
    else:
        book.by_graph[graph] = masks


def current(book):
    """The masks of the sequence being built: this graph's (or an enclosing one's), or stock's."""
    if _compat.executing_eagerly():
        return _used(book.eager or book.at_construction)
    graph = _default_graph()
    while graph is not None:
        masks = book.by_graph.get(graph)
        if masks is not None:
            return _used(masks)
        # Up through while/cond bodies only: a separately traced function (Keras traces a
        # layer's call on its own to save it) must not capture its caller's tensors.
        if not _compat.is_control_flow_graph(graph):
            break
        graph = graph.outer_graph
    return book.at_construction


def _used(masks):
    masks.used = True
    return masks

"""Variational masks: one per sequence in every execution mode (DESIGN 3.5).

The stock wrapper draws its variational noise once, in ``__init__``.  In a TF1 graph that is a
random op, so every ``Session.run`` gets a new mask; in eager mode and inside ``tf.function`` it
is a constant, and the same units are dropped for every batch, forever.

Here a sequence starts when the RNN asks the wrapper for its initial state (``dynamic_rnn``,
``keras.layers.RNN`` and ``static_rnn`` all do, unless given one): in eager mode and while
tracing a function, the wrapper then draws new noise, exactly as the stock constructor does
(same shapes, same per-leaf seeds), and the steps of that sequence use it.  Noise drawn inside a
function belongs to that function's graph and is found from the loop and branch bodies nested in
it (TF 2's control-flow function graphs); TF1 graphs keep the stock behaviour untouched.
"""
import weakref

from tf_rnn_dropout_fix import _compat

NOISE_KINDS = ("input", "state", "output")


class SequenceMasks(object):
    """The noise one sequence uses: per kind a structure like the stock ``_recurrent_*_noise``."""
    __slots__ = ("input", "state", "output", "gate_seed")

    def __init__(self, input=None, state=None, output=None, gate_seed=None):
        self.input, self.state, self.output, self.gate_seed = input, state, output, gate_seed


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


def start_sequence(wrapper, book, gate_seed_fn):
    """Draw this sequence's masks, in eager mode or while tracing a function; else no-op."""
    eager = _compat.executing_eagerly()
    graph = None if eager else _default_graph()
    if not eager and not getattr(graph, "building_function", False):
        return                                       # a TF1 graph: the stock masks are right
    done = book.at_construction
    masks = SequenceMasks(gate_seed=gate_seed_fn() if done.gate_seed is not None else None, **{
        kind: _draw_noise(wrapper, kind, book.sizes[kind], book.dtype)
        if getattr(done, kind) is not None else None for kind in NOISE_KINDS})
    if eager:
        book.eager = masks
    else:
        book.by_graph[graph] = masks


def current(book):
    """The masks of the sequence being built: this graph's (or an enclosing one's), or stock's."""
    if _compat.executing_eagerly():
        return book.eager or book.at_construction
    graph = _default_graph()
    while graph is not None:
        masks = book.by_graph.get(graph)
        if masks is not None:
            return masks
        # Up through while/cond bodies only: a separately traced function (Keras traces a
        # layer's call on its own to save it) must not capture its caller's tensors.
        if not _compat.is_control_flow_graph(graph):
            break
        graph = graph.outer_graph
    return book.at_construction


def make_sequence_start(cls, name):
    """``zero_state`` / ``get_initial_state`` for a wrapper class: start a sequence, then stock."""
    own = vars(cls).get(name)

    def method(self, *args, **kwargs):
        from tf_rnn_dropout_fix import _config, _wrapper
        plan = _wrapper.plan_of(self)
        if plan is not None and _config.corrections_active():
            _wrapper.start_sequence(self, plan)
        if own is not None:
            return own(self, *args, **kwargs)
        return getattr(super(cls, self), name)(*args, **kwargs)

    method.__name__ = name
    return _compat.stands_in_for(method, own)


def inherits(cls, name):
    """True when instances of ``cls`` (or of its subclasses) get ``name`` from another class."""
    classes = [cls] + cls.__subclasses__()
    return name in vars(cls) or any(
        name in vars(base) for klass in classes for base in klass.__mro__ if base is not cls)

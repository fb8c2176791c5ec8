"""Gate dropout (Semeniuta, Severyn & Barth 2016, "Recurrent Dropout without Memory Loss").

Dropout on the candidate update only, never on the memory::

    LSTM:  c' = f*c + i*d(g)          (g = tanh(j), block j of TF's [i, j, f, o]; Keras' block c)
    GRU:   h' = u*h + (1-u)*d(c~)     (Keras: z*h + (1-z)*d(hh))

Every LSTM and GRU family the package knows computes its candidate with the cell's activation,
and calls that activation first on the candidate (``sigmoid(i)*act(j)`` precedes
``sigmoid(o)*act(c)``; a GRU calls it once).  So the candidate is reached without re-implementing
any cell: for the duration of one step, the cell's activation attribute is a ``_CandidateGate``
that applies ``d`` to the result of its first call in the calling thread and passes every other
call through.  The cell's own ``call`` runs unchanged: variables, names, shapes, peepholes, clipping
and projection are the stock ones, and ``gate_keep_prob=1`` leaves the graph exactly stock.

``d`` is inverted dropout with one mask per example.  Per step by default; with
``variational_recurrent=True`` one mask per sequence: a stateless uniform draw whose seed is a
random pair drawn once per ``Session.run`` (outside the time loop), so every step of a sequence
recomputes the same mask.
"""
import functools
import threading

from tf_rnn_dropout_fix import _compat, _pycompat, _seeds, _state_rules

_swap_lock = threading.Lock()
_seed_lock = threading.Lock()         # DeferredSequenceSeed: one draw when threads build at once


def activation_attribute(cell):
    """Where ``cell`` keeps the activation of its candidate: ``_activation`` (TF) or ``activation``."""
    for name in ("_activation", "activation"):
        if callable(getattr(cell, name, None)):
            return name
    return None


def is_fused(cell):
    # LSTMBlockCell, GRUBlockCell(V2), CudnnCompatibleLSTMCell: the step is one C++ kernel.
    return any("Block" in klass.__name__ for klass in type(cell).__mro__)


def has_python_step(cell):
    """True when the package patched ``cell``'s ``call`` with a step it can run in Python."""
    return getattr(getattr(type(cell), "call", None), "__wrapped_class__", None) is not None


def is_gated(cell):
    """True while a gate is installed on ``cell`` (a fused cell then runs its Python step)."""
    return isinstance(vars(cell).get("_activation"), _CandidateGate)


def gate_cells(cell):
    """The LSTM/GRU cells under ``cell`` whose candidate gate dropout reaches, in a fixed order.

    Raises ValueError naming the first cell it cannot apply to.
    """
    cells = []
    for leaf in _state_rules.leaf_cells(cell):
        names = _state_rules.class_names(leaf)
        if ("LSTM" in names or "GRU" in names) and (
                (not is_fused(leaf) and activation_attribute(leaf) is not None)
                or (is_fused(leaf) and has_python_step(leaf))):
            cells.append(leaf)
            continue
        if is_fused(leaf):
            why = ("this TF release's fused kernel has no separate candidate (TF 1.15's block "
                   "cells are supported); use tf.nn.rnn_cell.LSTMCell / GRUCell")
        else:
            why = ("gate dropout needs an LSTM or GRU cell (it drops the candidate update); "
                   "use state_keep_prob or output_keep_prob for other cells")
        raise ValueError("gate_keep_prob cannot apply to %s %r: %s, or set gate_keep_prob=1.0."
                         % (type(leaf).__name__, getattr(leaf, "name", "") or "", why))
    return cells


def sequence_seed(wrapper):
    """A random int64 pair, drawn once per run outside the time loop: the variational gate seed."""
    from tensorflow.python.framework import dtypes
    from tensorflow.python.ops import random_ops
    math_ops = _compat.tf_modules()[2]
    pair = random_ops.random_uniform([2], minval=0, maxval=0x7FFFFFFF, dtype=dtypes.int32,
                                     seed=wrapper._gen_seed("gate", 0))
    return math_ops.cast(pair, dtypes.int64)


class DeferredSequenceSeed(object):
    """The construction-time gate seed of a wrapper built in a TF1 graph, drawn at its first use.

    Drawing it in the constructor would put two ops before the cell's variables, and on releases
    that derive an unseeded initialiser's seed from the graph's op count the cell would then
    initialise to other values than stock (DESIGN 3.6).  Its first use is inside the cell's
    step, after the cell has built its variables; the draw still goes in the construction graph
    outside every loop and ``cond`` (``control_dependencies(None)`` clears the control-flow
    context; the graph's ``as_default`` leaves a ``while_v2`` body), so it runs once per
    ``Session.run`` as before.
    """

    def __init__(self, wrapper):
        from tensorflow.python.framework import ops
        self._wrapper, self._graph, self._seed = wrapper, ops.get_default_graph(), None

    def tensor(self):
        with _seed_lock:
            if self._seed is None:
                with self._graph.as_default(), self._graph.control_dependencies(None):
                    draw = functools.partial(sequence_seed, self._wrapper)
                    if _compat.op_count_seeded_graph() is not None:
                        # ops stock's graph lacks: left out of its derived seeds (``_seeds``);
                        # TF 2.0 - 2.1 build a loop body in its own graph, not this one
                        self._seed = _seeds.hide(self._graph, draw)
                    else:
                        self._seed = draw()
            return self._seed


def construction_seed(wrapper):
    """The gate seed of a new variational wrapper: drawn now in eager mode, deferred in a graph."""
    if _compat.executing_eagerly():
        return sequence_seed(wrapper)
    return DeferredSequenceSeed(wrapper)


def candidate_dropout(wrapper, keep_prob, index):
    """``d`` for the ``index``-th gated cell of ``wrapper``: (candidate, step, seed_pair) -> dropped.

    Variational (``seed_pair``, this sequence's): a stateless draw, the same at every step.
    Per step (``seed_pair`` None): ``step`` counts the wrapper's step calls and seeds each call's
    op, so an unrolled graph (``static_rnn``, a Python loop) gets a new mask per step, as a
    ``while`` loop does, and the same masks build after build.
    """
    def dropout(candidate, step, seed_pair, keep_prob=keep_prob):
        if seed_pair is None:
            return _compat.per_step_dropout(candidate, keep_prob,
                                            wrapper._gen_seed("gate%d" % step, index + 1))
        from tensorflow.python.framework import dtypes
        array_ops, _, math_ops = _compat.tf_modules()[:3]
        if isinstance(seed_pair, DeferredSequenceSeed):
            seed_pair = seed_pair.tensor()
        seed = seed_pair + math_ops.cast([0, index], dtypes.int64)
        noise = _compat.stateless_uniform(array_ops.shape(candidate), seed, candidate.dtype)
        dropped = math_ops.div(candidate, keep_prob) * math_ops.floor(keep_prob + noise)
        dropped.set_shape(candidate.get_shape())
        return dropped
    return dropout


class _CandidateGate(object):
    """An activation that applies the armed dropout to its first call, per thread."""

    def __init__(self, activation):
        self.activation = activation
        self.users = 0
        self._armed = {}          # thread id -> [dropout functions] for the next call

    def arm(self, dropout):
        self._armed.setdefault(_pycompat.get_ident(), []).append(dropout)

    def disarm(self, dropout):
        armed = self._armed.get(_pycompat.get_ident())
        if armed and dropout in armed:
            armed.remove(dropout)

    def __call__(self, *args, **kwargs):
        activation = self.activation or _compat.tf_modules()[2].tanh    # fused cells: tanh
        value = activation(*args, **kwargs)
        for dropout in self._armed.pop(_pycompat.get_ident(), ()):
            value = dropout(value)
        return value


class gated(object):
    """Context: during one step, each listed cell's candidate goes through its dropout.

    ``cells_and_dropouts``: [(cell, candidate -> dropped candidate)].
    """

    def __init__(self, cells_and_dropouts):
        self._items = cells_and_dropouts
        self._gates = []

    def __enter__(self):
        with _swap_lock:
            for cell, dropout in self._items:
                # A fused cell has no activation attribute: its Python step reads _activation.
                name = activation_attribute(cell) or "_activation"
                gate = vars(cell).get(name)
                if not isinstance(gate, _CandidateGate):
                    gate = _CandidateGate(gate)
                    object.__setattr__(cell, name, gate)   # bypass Keras attribute tracking
                gate.users += 1
                gate.arm(dropout)
                self._gates.append((cell, name, gate, dropout))
        return self

    def __exit__(self, *exc_info):
        with _swap_lock:
            for cell, name, gate, dropout in reversed(self._gates):
                gate.disarm(dropout)
                gate.users -= 1
                if gate.users == 0 and gate.activation is None:
                    object.__delattr__(cell, name)
                elif gate.users == 0:
                    object.__setattr__(cell, name, gate.activation)
        self._gates = []
        return False


def block_lstm_step(cell, inputs, state):
    """``LSTMBlockCell``'s fused kernel (``lstm_block_cell``, gates [i, ci, f, o]) in Python,
    run only while a gate is installed, so the candidate ``tanh(ci)`` can be dropped."""
    array_ops, _, math_ops, nn_ops = _compat.tf_modules()[:4]
    c_prev, h_prev = state
    gates = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, h_prev], 1), cell._kernel),
                            cell._bias)
    i, candidate, f, o = array_ops.split(gates, 4, axis=1)
    if cell._use_peephole:
        i, f = i + c_prev * cell._w_i_diag, f + c_prev * cell._w_f_diag
    c = (math_ops.sigmoid(i) * vars(cell)["_activation"](candidate)
         + c_prev * math_ops.sigmoid(f + cell._forget_bias))
    if cell._cell_clip > 0:
        c = math_ops.minimum(math_ops.maximum(c, -cell._cell_clip), cell._cell_clip)
    if cell._use_peephole:
        o = o + c * cell._w_o_diag
    h = math_ops.tanh(c) * math_ops.sigmoid(o)
    return h, type(state)(c, h)


def make_gateable_block_lstm_call(block_class, original_call):
    """The replacement ``LSTMBlockCell.call``: the fused kernel unless a gate is installed."""
    def call(self, inputs, state):       # the stock signature (Keras inspects it)
        if is_gated(self):
            return block_lstm_step(self, inputs, state)
        return original_call(self, inputs, state)

    return _compat.stands_in_for(call, original_call, block_class)

"""Seeded graphs initialise to the stock values (DESIGN 3.6).

With a graph-level seed, an unseeded initialiser's op-level seed is derived from the graph: from
its op count (TF 1.x up to 2.x releases that count ops) or from a per-graph counter of unseeded
random ops (later releases).  The corrected step therefore creates no op before a variable that
stock does not create there: the dropped GRU state is built inside the cell's own call, after
the cell's ``build``; where it precedes stock's place for it, or the step has ops stock's
lacks, ``_seeds`` gives later random ops the seeds stock's op count would.  Every family,
policy and wrapper kind below builds a stock and a corrected graph with the same seeds and
compares every variable's initial value (an unseeded dense layer after the RNN included) and,
at keep 1, the outputs.
"""
import random
import warnings

import numpy as np
import pytest

import tensorflow as tf
import tf_rnn_dropout_fix as fix
from conftest import RNN_CELL, TF_VERSION, V1, contrib

from tensorflow.python.framework import random_seed
try:
    from tensorflow.python.ops import control_flow_util
except ImportError:          # TF < 1.5: no control flow v2 at all
    control_flow_util = None

UNITS = 6
# Releases that derive op seeds from the op count: ops before a variable shift its seed.
SEEDS_COUNT_OPS = not hasattr(random_seed, "_graph_to_seed_dict")
# TF 2.0 - 2.1: `dynamic_rnn` builds its loop body as a function (control flow v2), and a tensor
# the corrected step alone reads inside it (a tensor gate keep) becomes one more loop output, an
# op in the graph that the later layers' derived seeds count.
CAPTURES_SHIFT = SEEDS_COUNT_OPS and getattr(control_flow_util, "ENABLE_CONTROL_FLOW_V2", False)


def _wrap(cell, keep, **kwargs):
    return RNN_CELL.DropoutWrapper(cell, state_keep_prob=keep, variational_recurrent=True,
                                   dtype=tf.float32, seed=3, **kwargs)


def _family(path, **kwargs):
    def make():
        cls = contrib(path)
        if cls is None:
            pytest.skip("TF %s has no tf.contrib.%s" % (tf.__version__, path))
        return cls(UNITS, **kwargs)
    return make


FAMILIES = {
    "GRUCell": lambda: RNN_CELL.GRUCell(UNITS),
    "LSTMCell": lambda: RNN_CELL.LSTMCell(UNITS),
    "BasicLSTMCell": lambda: RNN_CELL.BasicLSTMCell(UNITS),
    "LSTMCell state_is_tuple=False": lambda: RNN_CELL.LSTMCell(UNITS, state_is_tuple=False),
    "LSTMCell peepholes projection": lambda: RNN_CELL.LSTMCell(UNITS, use_peepholes=True,
                                                               num_proj=4),
    "GRUBlockCell": _family("rnn.GRUBlockCell"),
    "GRUBlockCellV2": _family("rnn.GRUBlockCellV2"),
    "LSTMBlockCell": _family("rnn.LSTMBlockCell"),
    "CudnnCompatibleGRUCell": _family("cudnn_rnn.CudnnCompatibleGRUCell"),
}

KINDS = {
    "one wrapper": lambda make, keep: _wrap(make(), keep),
    "nested wrappers": lambda make, keep: _wrap(_wrap(make(), keep), keep),
    "stacked wrappers": lambda make, keep: RNN_CELL.MultiRNNCell(
        [_wrap(make(), keep), _wrap(make(), keep)]),
    "one wrapper around a stack": lambda make, keep: _wrap(
        RNN_CELL.MultiRNNCell([make(), make()]), keep),
}

KEEPS = {
    "float 1": lambda: 1.0,
    "tensor fed 1": lambda: V1.placeholder_with_default(tf.constant(1.0), []),
    "float 0.8": lambda: 0.8,
}


def _build(stock, make_cell, make_keep, seeded_layer=False):
    graph = tf.Graph()
    with graph.as_default():
        V1.set_random_seed(1)
        random.seed(1)          # Keras 2 / tf_keras unseeded initialisers draw from `random`
        inputs = tf.constant(np.random.RandomState(0).randn(3, 5, 4).astype(np.float32))
        keep = make_keep()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if stock:
                with fix.disabled():
                    cell = make_cell(keep)
            else:
                cell = make_cell(keep)
            outputs, _ = V1.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
            initializer = (V1.random_uniform_initializer(-0.5, 0.5, seed=9) if seeded_layer
                           else None)       # unseeded: its seed derives from the graph
            logits = V1.layers.dense(outputs[:, -1], 2, kernel_initializer=initializer)
        with V1.Session(graph=graph) as session:
            session.run(V1.global_variables_initializer())
            values = {v.op.name: session.run(v) for v in V1.global_variables()}
            return values, session.run(logits)


def _compare(make_cell, keep, make_stock_cell=None, seeded_layer=False):
    """``make_stock_cell`` (default: ``make_cell``) builds the stock graph's cell;
    ``seeded_layer``: the dense layer after the RNN gets its own op seed."""
    stock_values, stock_logits = _build(True, make_stock_cell or make_cell, KEEPS[keep],
                                        seeded_layer)
    values, logits = _build(False, make_cell, KEEPS[keep], seeded_layer)
    assert sorted(values) == sorted(stock_values)
    different = sorted(name for name in values
                       if not np.array_equal(values[name], stock_values[name]))
    assert different == []
    if keep != "float 0.8":
        np.testing.assert_allclose(logits, stock_logits, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("keep", ["tensor fed 1", "float 0.8"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_initialises_to_stock_under_a_graph_seed(family, keep):
    _compare(lambda k: KINDS["one wrapper"](FAMILIES[family], k), keep)


@pytest.mark.parametrize("keep", ["float 1", "tensor fed 1", "float 0.8"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_wrapper_kind_initialises_to_stock_under_a_graph_seed(kind, keep):
    _compare(lambda k: KINDS[kind](FAMILIES["GRUCell"], k), keep)


def test_a_gru_over_an_lstm_in_one_wrapper_initialises_to_stock():
    make = lambda k: _wrap(RNN_CELL.MultiRNNCell([RNN_CELL.GRUCell(UNITS),
                                                  RNN_CELL.LSTMCell(UNITS)]), k)
    _compare(make, "tensor fed 1")


def test_an_lstm_stack_in_one_wrapper_initialises_to_stock():
    make = lambda k: _wrap(RNN_CELL.MultiRNNCell([RNN_CELL.LSTMCell(UNITS),
                                                  RNN_CELL.LSTMCell(UNITS)]), k)
    _compare(make, "float 0.8")


@pytest.mark.parametrize("variational", [True, False], ids=["variational", "per step"])
@pytest.mark.parametrize("family", ["GRUCell", "LSTMCell"])
def test_gate_dropout_initialises_to_stock_under_a_graph_seed(family, variational):
    """``gate_keep_prob`` (a tensor fed 1) against the stock wrapper without it: the sequence's
    gate seed is drawn at its first use, after the cell has built its variables.  The gate's
    ops have no stock counterpart: where op counts seed the graph, stock's step is built first,
    unused, and the corrected one is hidden from the seeds (``_seeds``)."""
    def make(keep, **kwargs):
        return RNN_CELL.DropoutWrapper(FAMILIES[family](), state_keep_prob=1.0,
                                       variational_recurrent=variational, dtype=tf.float32,
                                       seed=3, **kwargs)
    _compare(lambda k: make(k, gate_keep_prob=k), "tensor fed 1", make_stock_cell=make,
             seeded_layer=CAPTURES_SHIFT)


@pytest.mark.parametrize("policy", ["reroute", "warn"])
def test_every_policy_initialises_to_stock_under_a_graph_seed(policy):
    fix.patch(gru_policy=policy)
    _compare(lambda k: _wrap(RNN_CELL.GRUCell(UNITS), k), "tensor fed 1")


def test_the_raise_policy_builds_no_graph_to_compare():
    fix.patch(gru_policy="raise")
    with tf.Graph().as_default():
        with pytest.raises(fix.UnsafeStateDropoutError):
            _wrap(RNN_CELL.GRUCell(UNITS), V1.placeholder_with_default(tf.constant(1.0), []))


@pytest.mark.skipif(not hasattr(tf.nn, "RNNCellDropoutWrapper"),
                    reason="tf.nn.RNNCellDropoutWrapper (the V2 wrapper) is TF 2.x")
@pytest.mark.skipif(TF_VERSION[:2] in ((2, 0), (2, 1), (2, 2)), reason="stock cannot build this "
                    "model to compare with: TF 2.0 - 2.1's Keras GRUCell reads states[0] of the "
                    "bare state tensor dynamic_rnn passes (one row: a MatMul rank error, "
                    "tensorflow/tensorflow#34789), and TF 2.2's returns it as a list [h], over "
                    "which the stock wrapper cannot map its noise; TF 2.3+ keeps the state's shape")
@pytest.mark.parametrize("keep", ["tensor fed 1", "float 0.8"])
def test_the_v2_wrapper_around_a_keras_gru_initialises_to_stock(keep):
    def make(k):
        return tf.nn.RNNCellDropoutWrapper(tf.keras.layers.GRUCell(UNITS), state_keep_prob=k,
                                           variational_recurrent=True, dtype=tf.float32, seed=3)
    _compare(make, keep)


def _unseeded_per_step(cell, keep):
    return RNN_CELL.DropoutWrapper(cell, state_keep_prob=keep, output_keep_prob=keep)


def _random_op_seeds(graph):
    return [(op.get_attr("seed"), op.get_attr("seed2")) for op in graph.get_operations()
            if op.type in ("RandomUniform", "RandomStandardNormal", "TruncatedNormal")]


def test_unseeded_per_step_wrappers_initialise_to_stock_and_no_two_random_ops_share_a_seed():
    """No wrapper seed: per-step noise takes derived seeds too.  The dropped GRU state the
    corrected step builds early draws its noise apart from every op count, so no variable's
    initialiser and no other noise op shares its seed."""
    def make(k):
        return RNN_CELL.MultiRNNCell([
            _unseeded_per_step(RNN_CELL.GRUCell(UNITS), k),
            _unseeded_per_step(RNN_CELL.MultiRNNCell([RNN_CELL.GRUCell(UNITS),
                                                      RNN_CELL.LSTMCell(UNITS)]), k)])
    _compare(make, "tensor fed 1")
    if not SEEDS_COUNT_OPS:
        return          # later releases count only unseeded random ops; seeds stay distinct
    graph = tf.Graph()
    with graph.as_default():
        V1.set_random_seed(1)
        inputs = tf.constant(np.zeros((2, 3, 4), np.float32))
        V1.nn.dynamic_rnn(make(V1.placeholder_with_default(tf.constant(0.8), [])), inputs,
                          dtype=tf.float32)
        V1.layers.dense(inputs[:, -1], 2)
    seeds = _random_op_seeds(graph)
    assert len(seeds) >= 6 and len(set(seeds)) == len(seeds)


def test_the_seed_derivation_is_tf_s_own_where_nothing_is_discounted():
    """Where ``_seeds`` has nothing to discount (every dropped GRU state reached its stock place,
    or no graph seed), derived seeds are TF's own; ``unpatch()`` puts TF's function back."""
    stock_get_seed = getattr(random_seed.get_seed, "__wrapped__", random_seed.get_seed)
    for graph_seed in (1, None):
        with tf.Graph().as_default():
            if graph_seed is not None:
                V1.set_random_seed(graph_seed)
            cell = _wrap(RNN_CELL.MultiRNNCell([RNN_CELL.GRUCell(UNITS),
                                                RNN_CELL.LSTMCell(UNITS)]),
                         V1.placeholder_with_default(tf.constant(0.8), []))
            V1.nn.dynamic_rnn(cell, tf.zeros([2, 3, 4]), dtype=tf.float32)
            if SEEDS_COUNT_OPS:     # later releases count each derivation: no second call
                assert random_seed.get_seed(None) == stock_get_seed(None)
            assert random_seed.get_seed(7) == stock_get_seed(7)
    fix.unpatch()
    try:
        assert random_seed.get_seed is stock_get_seed
    finally:
        fix.patch()


@pytest.mark.parametrize("variational", [True, False], ids=["variational", "per step"])
def test_a_sliced_concatenated_lstm_state_initialises_to_stock(variational):
    """``state_is_tuple=False`` at a tensor keep, or per step: the h columns are sliced off."""
    def make(k):
        return RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(UNITS, state_is_tuple=False),
                                       state_keep_prob=k, variational_recurrent=variational,
                                       dtype=tf.float32, seed=3)
    _compare(make, "tensor fed 1")


def test_gate_dropout_inside_a_rerouting_wrapper_initialises_to_stock():
    """Nested: gate dropout (shadowed step) inside a wrapper that reroutes the GRU's state."""
    def make(k, **kwargs):
        inner = RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(UNITS), variational_recurrent=True,
                                        dtype=tf.float32, seed=4, **kwargs)
        return _wrap(RNN_CELL.MultiRNNCell([inner, RNN_CELL.LSTMCell(UNITS)]), k)
    _compare(lambda k: make(k, gate_keep_prob=k), "tensor fed 1", make_stock_cell=make,
             seeded_layer=CAPTURES_SHIFT)

"""Seeded graphs initialise to the stock values (DESIGN 3.6).

With a graph-level seed, an unseeded initialiser's op-level seed is derived from the graph: from
its op count (TF 1.x up to 2.x releases that count ops) or from a per-graph counter of unseeded
random ops (later releases).  The corrected step therefore creates no op before a variable that
stock does not create there: the dropped GRU state is built inside the cell's own call, after
the cell's ``build``.  Every family, policy and wrapper kind below builds a stock and a corrected
graph with the same seeds and compares every variable's initial value (a dense layer after the
RNN included) and, at keep 1, the outputs.
"""
import random
import warnings

import numpy as np
import pytest

import tensorflow as tf
import tf_rnn_dropout_fix as fix
from conftest import RNN_CELL, TF_VERSION, V1, contrib

from tensorflow.python.framework import random_seed

UNITS = 6
# Releases that derive op seeds from the op count: ops before a variable shift its seed.
SEEDS_COUNT_OPS = not hasattr(random_seed, "_graph_to_seed_dict")
# The `_linear`-era GRU (TF 1.2 - 1.4) makes its variables inside its step.
LINEAR_ERA = TF_VERSION < (1, 5)


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


# Families whose corrected step creates as many ops as stock's: the reroute follows the cell's
# own op sequence, and where stock drops a tuple LSTM's memory (before TF 1.4) the corrected step
# builds that drop unused.  ``state_is_tuple=False`` drops its h columns with stock's own ops at
# a constant keep, and slices the memory off at a tensor one; the fused block GRUs run the
# rerouted step op by op.
SAME_OP_COUNT = ("GRUCell", "CudnnCompatibleGRUCell", "LSTMCell", "BasicLSTMCell",
                 "LSTMCell peepholes projection", "LSTMBlockCell")
SAME_OP_COUNT_AT_A_CONSTANT_KEEP = ("LSTMCell state_is_tuple=False",)


def _later_layers_shift(family, kind, keep):
    """True where layers made after the RNN get other op-count seeds (DESIGN 3.6): the corrected
    step changes the graph's op count, or first runs the stock step to build its variables
    (``_wrapper._builds_late``).  The test then seeds that layer itself."""
    if not SEEDS_COUNT_OPS or keep == "float 1":
        return False
    if family in SAME_OP_COUNT_AT_A_CONSTANT_KEEP and keep.startswith("float"):
        return False
    if family not in SAME_OP_COUNT:
        return True
    return "GRU" in family and (kind == "one wrapper around a stack" or LINEAR_ERA)


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
                           else None)
            logits = V1.layers.dense(outputs[:, -1], 2, kernel_initializer=initializer)
        with V1.Session(graph=graph) as session:
            session.run(V1.global_variables_initializer())
            values = {v.op.name: session.run(v) for v in V1.global_variables()}
            return values, session.run(logits)


def _compare(make_cell, keep, shifted=False, make_stock_cell=None):
    """``make_stock_cell`` (default: ``make_cell``) builds the stock graph's cell."""
    stock_values, stock_logits = _build(True, make_stock_cell or make_cell, KEEPS[keep], shifted)
    values, logits = _build(False, make_cell, KEEPS[keep], shifted)
    assert sorted(values) == sorted(stock_values)
    different = sorted(name for name in values
                       if not np.array_equal(values[name], stock_values[name]))
    assert different == []
    if keep != "float 0.8":
        np.testing.assert_allclose(logits, stock_logits, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("keep", ["tensor fed 1", "float 0.8"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_initialises_to_stock_under_a_graph_seed(family, keep):
    shifted = _later_layers_shift(family, "one wrapper", keep)
    _compare(lambda k: KINDS["one wrapper"](FAMILIES[family], k), keep, shifted)


@pytest.mark.parametrize("keep", ["float 1", "tensor fed 1", "float 0.8"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_wrapper_kind_initialises_to_stock_under_a_graph_seed(kind, keep):
    family = "GRUCell"
    shifted = _later_layers_shift(family, kind, keep)
    if shifted and LINEAR_ERA and kind == "stacked wrappers":
        pytest.skip("TF %s: the _linear-era GRU makes its variables in its step, so the first "
                    "wrapper's building pass shifts the op-count seeds of the second's"
                    % tf.__version__)
    _compare(lambda k: KINDS[kind](FAMILIES[family], k), keep, shifted)


def test_a_gru_over_an_lstm_in_one_wrapper_initialises_to_stock():
    make = lambda k: _wrap(RNN_CELL.MultiRNNCell([RNN_CELL.GRUCell(UNITS),
                                                  RNN_CELL.LSTMCell(UNITS)]), k)
    _compare(make, "tensor fed 1", shifted=SEEDS_COUNT_OPS)


def test_an_lstm_stack_in_one_wrapper_initialises_to_stock():
    make = lambda k: _wrap(RNN_CELL.MultiRNNCell([RNN_CELL.LSTMCell(UNITS),
                                                  RNN_CELL.LSTMCell(UNITS)]), k)
    _compare(make, "float 0.8", shifted=_later_layers_shift("LSTMCell", "stack", "float 0.8"))


@pytest.mark.parametrize("variational", [True, False], ids=["variational", "per step"])
@pytest.mark.parametrize("family", ["GRUCell", "LSTMCell"])
def test_gate_dropout_initialises_to_stock_under_a_graph_seed(family, variational):
    """``gate_keep_prob`` (a tensor fed 1) against the stock wrapper without it: the sequence's
    gate seed is drawn at its first use, after the cell has built its variables.  The gate's
    ops have no stock counterpart, so only releases that count ops shift later layers."""
    def make(keep, **kwargs):
        return RNN_CELL.DropoutWrapper(FAMILIES[family](), state_keep_prob=1.0,
                                       variational_recurrent=variational, dtype=tf.float32,
                                       seed=3, **kwargs)
    _compare(lambda k: make(k, gate_keep_prob=k), "tensor fed 1", shifted=SEEDS_COUNT_OPS,
             make_stock_cell=make)


@pytest.mark.parametrize("policy", ["reroute", "warn"])
def test_every_policy_initialises_to_stock_under_a_graph_seed(policy):
    fix.patch(gru_policy=policy)
    _compare(lambda k: _wrap(RNN_CELL.GRUCell(UNITS), k), "tensor fed 1",
             shifted=LINEAR_ERA and policy == "reroute")


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

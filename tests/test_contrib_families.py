"""The TF1 contrib GRU and LSTM families (DESIGN 3.2, 3.3): tf.contrib.rnn and cudnn_rnn cells.

GRU families share TF's gate layout ([r, u] over [x, h]); ``CudnnCompatibleGRUCell`` applies the
reset gate after the hidden product. Stock state dropout rescales their carried state at every
step and overflows; the reroute keeps it bounded, with the cell's own variables. LSTM families
carry ``LSTMStateTuple`` (or the concatenated ``[c, h]``); their memory is never dropped.
"""
import os
import tempfile

import numpy as np
import pytest

import tensorflow as tf
from conftest import RNN_CELL, TF_VERSION, V1, contrib, sigmoid

pytestmark = pytest.mark.skipif(TF_VERSION >= (2, 0), reason="tf.contrib exists in TF 1.x only")
UNITS = 6


GRU_FAMILIES = {
    "GRUBlockCell": lambda: contrib("rnn.GRUBlockCell")(UNITS),
    "GRUBlockCellV2": lambda: contrib("rnn.GRUBlockCellV2")(UNITS),
    "CudnnCompatibleGRUCell": lambda: contrib("cudnn_rnn.CudnnCompatibleGRUCell")(UNITS),
}
GRU_PATHS = {"GRUBlockCell": "rnn.GRUBlockCell", "GRUBlockCellV2": "rnn.GRUBlockCellV2",
             "CudnnCompatibleGRUCell": "cudnn_rnn.CudnnCompatibleGRUCell"}


def _gru_family(name):
    cls = contrib(GRU_PATHS[name])
    if cls is None:
        pytest.skip("TF %s has no tf.contrib.%s" % (tf.__version__, GRU_PATHS[name]))
    if getattr(getattr(cls, "call", None), "__wrapped_class__", None) is None:
        pytest.skip("TF %s's %s makes its variables inside its call: it is not rerouted "
                    "(the policy falls back to warn, tested below)" % (tf.__version__, name))
    return GRU_FAMILIES[name]


def _reference(run, mask):
    """NumPy GRU over the run's inputs, the mask on h only inside the recurrent products."""
    cell = run.cell._cell if hasattr(run.cell, "_cell") else run.cell.cell
    inputs = run.run(run.inputs).astype(np.float64)
    h = np.zeros((inputs.shape[0], UNITS))
    cudnn = hasattr(cell, "_candidate_hidden_kernel")
    names = (["_gate_kernel", "_gate_bias", "_candidate_input_kernel", "_candidate_input_bias",
              "_candidate_hidden_kernel", "_candidate_hidden_bias"] if cudnn else
             ["_gate_kernel", "_gate_bias", "_candidate_kernel", "_candidate_bias"])
    weights = [w.astype(np.float64) for w in run.run([getattr(cell, n) for n in names])]
    outputs = []
    for t in range(inputs.shape[1]):
        x, dropped = inputs[:, t], h * mask
        r, u = np.split(sigmoid(np.concatenate([x, dropped], 1).dot(weights[0]) + weights[1]), 2, 1)
        if cudnn:
            candidate = np.tanh(x.dot(weights[2]) + weights[3]
                                + r * (dropped.dot(weights[4]) + weights[5]))
        else:
            candidate = np.tanh(np.concatenate([x, r * dropped], 1).dot(weights[2]) + weights[3])
        h = u * h + (1 - u) * candidate
        outputs.append(h)
    return np.stack(outputs, 1)


@pytest.mark.parametrize("name", sorted(GRU_FAMILIES))
def test_gru_family_reroute_matches_the_numpy_reference(make_run, name):
    run = make_run(_gru_family(name), steps=20, keep=0.6)
    outputs, noise = run.run([run.outputs, run.cell._recurrent_state_noise])  # one run, one mask
    mask = np.floor(0.6 + noise) / 0.6
    np.testing.assert_allclose(outputs, _reference(run, mask), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(GRU_FAMILIES))
def test_gru_family_long_sequence_bounded_where_stock_overflows(make_run, name):
    make_cell = _gru_family(name)
    stock = make_run(make_cell, steps=300, keep=0.8, stock=True)
    fixed = make_run(make_cell, steps=300, keep=0.8)
    stock_out, fixed_out = stock.run(stock.outputs), fixed.run(fixed.outputs)
    assert not np.all(np.isfinite(stock_out)) or np.max(np.abs(stock_out)) > 1e6
    assert np.all(np.isfinite(fixed_out)) and np.max(np.abs(fixed_out)) <= 1.0


def _restore_into(source, target):
    """Save ``source``'s variables, restore them into ``target``; compare names and shapes."""
    assert source.variables() == target.variables()
    path = os.path.join(tempfile.mkdtemp(), "model")
    with source.graph.as_default():
        V1.train.Saver().save(source.session, path)
    with target.graph.as_default():
        V1.train.Saver().restore(target.session, path)


@pytest.mark.parametrize("name", sorted(GRU_FAMILIES))
def test_gru_family_checkpoints_load_both_ways_and_match_at_keep_one(make_run, name):
    make_cell = _gru_family(name)
    stock = make_run(make_cell, steps=10, keep=1.0, stock=True)
    fixed = make_run(make_cell, steps=10, keep=1.0)
    fixed_dropout = make_run(make_cell, steps=10, keep=0.7)
    _restore_into(stock, fixed)
    np.testing.assert_allclose(stock.run(stock.outputs), fixed.run(fixed.outputs), rtol=1e-6)
    _restore_into(fixed_dropout, stock)
    _restore_into(stock, fixed_dropout)


def test_an_unreroutable_gru_block_cell_falls_back_to_a_warning():
    cls = contrib("rnn.GRUBlockCell")
    from tf_rnn_dropout_fix import RNNDropoutWarning, _compat
    if cls is None or _compat.gru_step_era(cls):
        pytest.skip("GRUBlockCell is rerouted on TF %s" % tf.__version__)
    with pytest.warns(RNNDropoutWarning, match="cannot reroute"):
        RNN_CELL.DropoutWrapper(cls(UNITS), state_keep_prob=0.8)


LSTM_FAMILIES = {
    "LSTMBlockCell": ("rnn.LSTMBlockCell", dict(forget_bias=5.0)),
    "LayerNormBasicLSTMCell": ("rnn.LayerNormBasicLSTMCell", dict(forget_bias=5.0)),
    "CudnnCompatibleLSTMCell": ("cudnn_rnn.CudnnCompatibleLSTMCell", {}),   # no forget_bias
    "LSTMCell-peepholes-projection": (None, dict(use_peepholes=True, num_proj=4,
                                                 forget_bias=5.0)),
}


def _lstm_family(name):
    path, kwargs = LSTM_FAMILIES[name]
    cls = RNN_CELL.LSTMCell if path is None else contrib(path)
    if cls is None:
        pytest.skip("TF %s has no tf.contrib.%s" % (tf.__version__, path))
    return lambda: cls(UNITS, **kwargs)


@pytest.mark.parametrize("name", sorted(LSTM_FAMILIES))
def test_lstm_family_memory_is_never_dropped(make_run, name):
    """The final c equals a run without state dropout on the same masks' h path: c is only ever
    reached through the cell's own gates, so a dropped h changes c but never scales it."""
    run = make_run(_lstm_family(name), steps=300, keep=0.8)
    state = run.run(run.state)
    assert np.all(np.isfinite(state.c)) and np.all(np.isfinite(state.h))
    # forget bias 5: f ~ 1, so a memory dropped by 1/0.8 per step would pass 1e20 by t=300.
    assert np.max(np.abs(state.c)) < 1e3


def test_concatenated_state_with_projection_keeps_its_memory(make_run):
    def make_cell():
        return RNN_CELL.LSTMCell(UNITS, num_proj=4, forget_bias=5.0, state_is_tuple=False)
    stock = make_run(make_cell, steps=300, keep=0.8, stock=True)
    fixed = make_run(make_cell, steps=300, keep=0.8)
    stock_state, fixed_state = stock.run(stock.state), fixed.run(fixed.state)
    assert not np.all(np.isfinite(stock_state)) or np.max(np.abs(stock_state)) > 1e6
    assert np.all(np.isfinite(fixed_state)) and np.max(np.abs(fixed_state[:, :UNITS])) < 1e3

"""The GRU reroute (DESIGN 3.3): the state mask enters only the recurrent products.

Reference: Gal & Ghahramani's recurrent dropout for a GRU in TF's gate convention ([r, u]),
written in NumPy from the equations, not from TF's code:
    [r, u] = sigmoid([x, m*h] W_g + b_g);  c~ = tanh([x, r*(m*h)] W_c + b_c);  h' = u*h + (1-u)*c~
"""
import numpy as np
import pytest

import tensorflow as tf
import tf_rnn_dropout_fix as fix
from conftest import RNN_CELL, V1, sigmoid


def _gru():
    return RNN_CELL.GRUCell(6)


def _keep_placeholder():
    """The common train/eval switch: 1.0 unless fed (DESIGN 3.3 counts it as dropout)."""
    return V1.placeholder_with_default(tf.constant(1.0), [])


def _reference_gru(inputs, kernels, mask):
    gate_kernel, gate_bias, cand_kernel, cand_bias = kernels
    batch, steps, _ = inputs.shape
    units = cand_bias.shape[0]
    h = np.zeros((batch, units), np.float64)
    outputs = []
    for t in range(steps):
        x = inputs[:, t]
        dropped = h * mask
        r, u = np.split(sigmoid(np.concatenate([x, dropped], 1).dot(gate_kernel) + gate_bias), 2, 1)
        candidate = np.tanh(np.concatenate([x, r * dropped], 1).dot(cand_kernel) + cand_bias)
        h = u * h + (1 - u) * candidate
        outputs.append(h)
    return np.stack(outputs, 1)


def _gru_kernels(run):
    with run.graph.as_default():
        found = {v.name.split("gru_cell/")[-1]: v for v in V1.global_variables() if "gru_cell/" in v.name}
    names = ["gates/kernel:0", "gates/bias:0", "candidate/kernel:0", "candidate/bias:0"]
    return [run.run(found[n]).astype(np.float64) for n in names]


def test_reroute_equals_numpy_reference_with_the_mask_only_in_the_products(make_run):
    run = make_run(_gru, steps=30, keep=0.6)
    inputs, outputs, noise = run.run([run.inputs, run.outputs, run.cell._recurrent_state_noise])
    mask = np.floor(0.6 + noise) / 0.6          # the stock variational mask, inverted scaling
    assert 0 < mask.sum() < mask.size * (1 / 0.6)   # some units dropped, some kept
    expected = _reference_gru(inputs.astype(np.float64), _gru_kernels(run), mask)
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-5)


def test_reroute_is_not_the_stock_math(make_run):
    stock = make_run(_gru, steps=30, keep=0.6, stock=True)
    fixed = make_run(_gru, steps=30, keep=0.6)
    assert not np.allclose(stock.run(stock.outputs), fixed.run(fixed.outputs))


def test_non_variational_reroute_stays_bounded_over_a_long_sequence(make_run):
    run = make_run(_gru, steps=400, keep=0.5, variational=False)
    outputs = run.run(run.outputs)
    assert np.all(np.isfinite(outputs)) and np.max(np.abs(outputs)) <= 1.0


@pytest.mark.parametrize("keep", [1.0, "tensor"])
def test_keep_one_equals_stock(make_run, keep):
    feed_keep = keep == "tensor"

    def build(stock):
        if feed_keep:
            return make_run(_gru, steps=25, stock=stock,
                            keep=_keep_placeholder)
        return make_run(_gru, steps=25, stock=stock, keep=1.0, input_keep_prob=1.0,
                        output_keep_prob=1.0)
    stock, fixed = build(True), build(False)
    np.testing.assert_array_equal(stock.run(stock.outputs), fixed.run(fixed.outputs))


def test_variables_have_the_stock_names_and_shapes(make_run):
    stock = make_run(_gru, stock=True)
    fixed = make_run(_gru)
    assert fixed.variables() == stock.variables()
    assert any(name.endswith("gru_cell/gates/kernel:0") for name, _ in fixed.variables())


def test_reroute_inside_multi_rnn_cell(make_run):
    run = make_run(lambda: RNN_CELL.MultiRNNCell([_gru(), _gru()]), steps=300, keep=0.7)
    outputs, state = run.run([run.outputs, run.state])
    assert np.max(np.abs(outputs)) <= 1.0 and all(np.max(np.abs(s)) <= 1.0 for s in state)
    assert fix.is_patched()

"""Long and edge sequences, other float types, keep probabilities fed at run time, determinism.

The corrected wrapper must hold where services push it: thousands of steps, a single step or a
single example, padded batches with ``sequence_length``, float16 and float64 models, one graph
that trains with dropout and evaluates without it, and runs that must repeat bit for bit.
"""
import numpy as np
import pytest

import tensorflow as tf
from conftest import RNN_CELL, V1
from test_gru_reroute import _gru_kernels, _reference_gru


def _gru():
    return RNN_CELL.GRUCell(6)


def _keep_placeholder():
    return V1.placeholder_with_default(tf.constant(1.0), [])


def _mask(noise, keep):
    """The stock variational mask, computed in the noise's own float type as TF does."""
    keep = np.asarray(keep, noise.dtype)
    return (np.floor(keep + noise) / keep).astype(np.float64)


def test_five_thousand_gru_steps_at_keep_one_half_stay_finite_and_bounded(make_run):
    run = make_run(_gru, steps=5000, batch=2, depth=3, keep=0.5)
    outputs, state = run.run([run.outputs, run.state])
    # h' = u*h + (1-u)*tanh(...) with the carried h unmasked can never leave [-1, 1].
    assert np.all(np.isfinite(outputs)) and np.max(np.abs(outputs)) <= 1.0
    assert np.all(np.isfinite(state)) and np.max(np.abs(state)) <= 1.0


@pytest.mark.parametrize("steps,batch", [(1, 4), (1, 1), (9, 1)],
                         ids=["one step", "one step, one example", "one example"])
def test_single_steps_and_single_examples_equal_the_reference(make_run, steps, batch):
    run = make_run(_gru, steps=steps, batch=batch, keep=0.6)
    inputs, outputs, noise = run.run([run.inputs, run.outputs, run.cell._recurrent_state_noise])
    expected = _reference_gru(inputs.astype(np.float64), _gru_kernels(run), _mask(noise, 0.6))
    assert outputs.shape == (batch, steps, 6)
    np.testing.assert_allclose(outputs, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make_cell", [_gru, lambda: RNN_CELL.LSTMCell(6, state_is_tuple=False)],
                         ids=["gru", "lstm concatenated state"])
def test_padding_with_sequence_length_leaves_the_valid_steps_alone(make_run, make_cell):
    lengths = np.array([7, 3, 1])
    run = make_run(make_cell, steps=7, batch=3, keep=0.6, sequence_length=lengths)
    with run.graph.as_default():     # the same wrapper (and masks) without the padding
        unpadded, _ = V1.nn.dynamic_rnn(run.cell, run.inputs, dtype=tf.float32)
    padded, state, full = run.run([run.outputs, run.state, unpadded])
    for example, length in enumerate(lengths):
        np.testing.assert_allclose(padded[example, :length], full[example, :length],
                                   rtol=1e-6, atol=1e-7)
        assert np.all(padded[example, length:] == 0)
    assert np.all(np.isfinite(state))
    if make_cell is _gru:             # its state is the last valid output, carried unmasked
        np.testing.assert_allclose(state, padded[np.arange(3), lengths - 1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype,tolerance", [(tf.float64, 1e-10), (tf.float16, 2e-2)],
                         ids=["float64", "float16"])
def test_float16_and_float64_gru_equal_the_reference(make_run, dtype, tolerance):
    # keep 0.5: the stock constructor rounds a Python keep probability to float32.
    run = make_run(_gru, steps=30, keep=0.5, dtype=dtype)
    inputs, outputs, noise = run.run([run.inputs, run.outputs, run.cell._recurrent_state_noise])
    assert outputs.dtype == dtype.as_numpy_dtype
    expected = _reference_gru(inputs.astype(np.float64), _gru_kernels(run), _mask(noise, 0.5))
    np.testing.assert_allclose(outputs.astype(np.float64), expected, rtol=tolerance,
                               atol=tolerance)


@pytest.mark.parametrize("dtype", [tf.float16, tf.float64], ids=["float16", "float64"])
def test_float16_and_float64_lstm_keep_their_memory_over_a_long_sequence(make_run, dtype):
    run = make_run(lambda: RNN_CELL.LSTMCell(6, state_is_tuple=False, forget_bias=5.0),
                   steps=300, keep=0.8, dtype=dtype)
    outputs = run.run(run.outputs)
    assert outputs.dtype == dtype.as_numpy_dtype and np.all(np.isfinite(outputs))


def test_train_at_keep_point_seven_and_evaluate_at_one_in_one_graph(make_run):
    stock = make_run(_gru, steps=300, keep=_keep_placeholder, stock=True)
    assert not np.all(np.abs(stock.run(stock.outputs, feed={stock.keep: 0.7})) <= 1e3)

    run = make_run(_gru, steps=300, keep=_keep_placeholder)
    for _ in range(3):
        _, loss = run.run([run.train, run.loss], feed={run.keep: 0.7})
        assert np.isfinite(loss)
    training = run.run(run.outputs, feed={run.keep: 0.7})
    evaluation = run.run(run.outputs)
    assert np.all(np.isfinite(training)) and np.max(np.abs(training)) <= 1.0
    assert np.all(np.isfinite(evaluation)) and np.max(np.abs(evaluation)) <= 1.0
    np.testing.assert_array_equal(evaluation, run.run(run.outputs))   # keep 1: no randomness
    assert not np.allclose(training, evaluation)


@pytest.mark.parametrize("make_cell,variational", [
    (_gru, True), (_gru, False), (lambda: RNN_CELL.LSTMCell(6, state_is_tuple=False), False)],
    ids=["gru variational", "gru per step", "lstm concatenated state per step"])
def test_the_same_seeds_give_bit_identical_results_across_two_builds(make_run, make_cell,
                                                                    variational):
    # One loop iteration at a time: per-step masks come from one stateful random op that
    # parallel iterations would draw from in a scheduling-dependent order.
    def build(seed):
        run = make_run(make_cell, steps=15, keep=0.6, variational=variational, seed=seed,
                       parallel_iterations=1)
        run.run(run.train)
        return run.run(run.outputs)

    first, second, other_seed = build(7), build(7), build(8)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other_seed)

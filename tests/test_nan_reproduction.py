"""Bug 1 and bug 2 of BACKGROUND.md, reproduced on the stock wrapper and fixed by the patch.

tensorflow/tensorflow#11650: with ``state_keep_prob < 1`` and ``variational_recurrent=True`` the
stock wrapper multiplies the same state units by 1/keep at every step.  A GRU's state and, before
TF 1.4 (and still for ``state_is_tuple=False``), an LSTM's memory ``c`` are carried linearly, so
they grow as (u/keep)^t or (f/keep)^t: inf, then a NaN loss after one training step.
"""
import numpy as np
import pytest

from conftest import RNN_CELL, TF_VERSION

STEPS = 700


def _gru():
    return RNN_CELL.GRUCell(16)


def _lstm_concat():
    return RNN_CELL.LSTMCell(16, state_is_tuple=False, forget_bias=5.0)


def _lstm_tuple():
    return RNN_CELL.LSTMCell(16, forget_bias=5.0)


def _loss_after_one_step(run):
    run.run(run.train)
    return run.run(run.loss)


CASES = [("gru", _gru), ("lstm_state_is_tuple_false", _lstm_concat)]
if TF_VERSION < (1, 4):
    CASES.append(("lstm_tuple_before_tf_1_4", _lstm_tuple))


@pytest.mark.parametrize("name,make_cell", CASES, ids=[c[0] for c in CASES])
def test_stock_wrapper_gives_a_non_finite_loss(make_run, name, make_cell):
    stock = make_run(make_cell, steps=STEPS, stock=True)
    assert not np.isfinite(_loss_after_one_step(stock))


@pytest.mark.parametrize("name,make_cell", CASES, ids=[c[0] for c in CASES])
def test_corrected_wrapper_keeps_the_loss_finite_and_the_state_small(make_run, name, make_cell):
    fixed = make_run(make_cell, steps=STEPS)
    outputs, state = fixed.run([fixed.outputs, fixed.state])
    assert np.all(np.isfinite(outputs))
    # The output h is a GRU's whole state and |h| <= 1; an LSTM's h is o*tanh(c), dropped by 1/keep.
    assert np.max(np.abs(outputs)) <= 1.0 / fixed.keep + 1e-5
    memory = np.concatenate([np.ravel(s) for s in np.atleast_1d(state)]) \
        if not isinstance(state, np.ndarray) else state
    assert np.all(np.isfinite(memory))
    assert np.max(np.abs(memory)) < 1e3
    assert np.isfinite(_loss_after_one_step(fixed))


def test_gru_state_explodes_geometrically_on_stock_and_stays_bounded_corrected(make_run):
    stock = make_run(_gru, steps=300, stock=True)
    fixed = make_run(_gru, steps=300)
    stock_max = np.max(np.abs(stock.run(stock.outputs)[:, -1]))
    fixed_max = np.max(np.abs(fixed.run(fixed.outputs)[:, -1]))
    assert stock_max > 1e10          # BACKGROUND.md measured ~1e27 at 300 steps
    assert fixed_max <= 1.0

"""DESIGN 3.2: state dropout never touches an LSTM memory ``c``.

Evidence with a keep probability near 0 (TF's own test idea, testDropoutWrapperKeepNoState-
ExceptLSTMCellMemory): every dropped unit becomes 0, so whatever part of the state survives
unchanged was not dropped.  Compared against the same graph without any state dropout.
"""
import numpy as np
import pytest

import tensorflow as tf
from conftest import RNN_CELL, TF_VERSION, V1

KEEP_NEAR_ZERO = 1e-6


def _final_state(make_run, make_cell, keep, **kwargs):
    run = make_run(make_cell, steps=5, keep=keep, **kwargs)
    return run.run(run.state)


def _lstm(**kwargs):
    return lambda: RNN_CELL.LSTMCell(4, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"num_proj": 3}, {"use_peepholes": True}],
                         ids=["plain", "projection", "peepholes"])
def test_tuple_state_keeps_c_and_drops_h(make_run, kwargs):
    dropped = _final_state(make_run, _lstm(**kwargs), KEEP_NEAR_ZERO)
    assert np.all(dropped.h == 0)
    assert np.any(dropped.c != 0)


def test_concatenated_state_drops_only_the_h_half(make_run):
    units = 4
    reference = _final_state(make_run, _lstm(state_is_tuple=False), 1.0)
    dropped = _final_state(make_run, _lstm(state_is_tuple=False), KEEP_NEAR_ZERO)
    assert np.all(dropped[:, units:] == 0)                       # h half dropped
    assert np.all(dropped[:, :units] != 0)                       # c half alive
    assert np.any(reference[:, units:] != 0)


def test_c_is_kept_inside_multi_rnn_cell(make_run):
    make_cell = lambda: RNN_CELL.MultiRNNCell(  # noqa: E731
        [RNN_CELL.LSTMCell(4), RNN_CELL.LSTMCell(4, state_is_tuple=False)])
    first, second = _final_state(make_run, make_cell, KEEP_NEAR_ZERO)
    assert np.all(first.h == 0) and np.any(first.c != 0)
    assert np.all(second[:, 4:] == 0) and np.all(second[:, :4] != 0)


def test_tuple_lstm_is_bit_for_bit_stock_where_stock_was_right(make_run):
    if TF_VERSION < (1, 4):
        pytest.skip("before TF 1.4 the stock wrapper dropped c: stock was not right there")
    # One iteration at a time: per-step masks come from one stateful random op, which parallel
    # while-loop iterations would otherwise draw from in a scheduling-dependent order.
    for variational in (True, False):
        stock = make_run(_lstm(), steps=12, keep=0.6, variational=variational, stock=True,
                         parallel_iterations=1)
        fixed = make_run(_lstm(), steps=12, keep=0.6, variational=variational,
                         parallel_iterations=1)
        np.testing.assert_array_equal(stock.run(stock.outputs), fixed.run(fixed.outputs))


def test_user_filter_visitor_still_wins(make_run):
    """A user visitor that turns state dropout off is obeyed (and accepted on TF 1.2/1.3)."""
    never = make_run(_lstm(), steps=6, keep=0.5, dropout_state_filter_visitor=lambda s: False)
    no_dropout = make_run(_lstm(), steps=6, keep=1.0)
    np.testing.assert_array_equal(never.run(never.outputs), no_dropout.run(no_dropout.outputs))


def test_user_filter_visitor_can_drop_c_explicitly(make_run):
    state = _final_state(make_run, _lstm(), KEEP_NEAR_ZERO, dropout_state_filter_visitor=lambda s: True)
    assert np.all(state.c == 0) and np.all(state.h == 0)


def test_placeholder_keep_probability_counts_as_dropout(make_run):
    keep = lambda: V1.placeholder_with_default(tf.constant(1.0), [])  # noqa: E731
    run = make_run(_lstm(state_is_tuple=False, forget_bias=5.0), steps=500, keep=keep)
    train = run.run(run.outputs, feed={run.keep: 0.8})
    evaluate = run.run(run.outputs)
    assert np.all(np.isfinite(train)) and np.all(np.isfinite(evaluate))


def _foreign_lstm_cell_class():
    """An LSTMCell from another package than the wrapper's (BACKGROUND.md, the 1.4 fix's gap)."""
    import importlib
    wrapper_module = RNN_CELL.DropoutWrapper.__module__.split(".")[0]
    for module_name in ("tensorflow.python.keras.layers.legacy_rnn.rnn_cell_impl",
                        "tensorflow.python.ops.rnn_cell_impl"):
        try:
            cls = getattr(importlib.import_module(module_name), "LSTMCell")
        except (ImportError, AttributeError):
            continue
        if cls is not RNN_CELL.LSTMCell and cls.__module__.split(".")[0] != wrapper_module:
            return cls
    return None


@pytest.mark.skipif(_foreign_lstm_cell_class() is None,
                    reason="this TF has one copy of LSTMCell and its wrapper")
def test_c_of_another_packages_lstm_state_tuple_is_kept(make_run):
    foreign = _foreign_lstm_cell_class()
    stock = make_run(lambda: foreign(4), steps=5, keep=KEEP_NEAR_ZERO, stock=True)
    fixed = make_run(lambda: foreign(4), steps=5, keep=KEEP_NEAR_ZERO)
    stock_state, fixed_state = stock.run(stock.state), fixed.run(fixed.state)
    assert np.all(stock_state.c == 0)          # the stock filter did not recognise the tuple
    assert np.all(fixed_state.h == 0) and np.any(fixed_state.c != 0)

"""Patching after wrappers were built: one warning that says so, and those wrappers corrected.

A service may import the package after its model code has built wrappers (the import sits in a
plugin, or ``TF_RNN_DROPOUT_FIX=off`` and a later ``patch()``).  The stock constructor ran for
those instances, so the corrected step works out what it needs at their first step after the
patch; graphs already built from them keep their stock ops, which the warning says.
"""
import gc
import warnings

import numpy as np
import pytest

import tf_rnn_dropout_fix as fix
import tensorflow as tf
from conftest import RNN_CELL, TF_VERSION, V1, run_python
from test_gru_reroute import _gru_kernels, _reference_gru


def _gru():
    return RNN_CELL.GRUCell(6)


def _patch_recording_warnings(**kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fix.patch(**kwargs)
    return [str(w.message) for w in caught if issubclass(w.category, fix.RNNDropoutWarning)]


def _dynamic_rnn_again(run):
    """A graph built after the patch from the wrapper instance built before it."""
    with run.graph.as_default():
        return V1.nn.dynamic_rnn(run.cell, run.inputs, dtype=tf.float32)[0]


def test_patch_after_wrappers_were_built_warns_once_and_corrects_graphs_built_afterwards(make_run):
    # Every wrapper in a graph: Keras 2 swaps the base class of its legacy cells between the
    # graph and the eager Layer, so mixing the two breaks the graph's cells, stock or not.
    gc.collect()                      # only this test's stock wrappers may be alive
    with tf.Graph().as_default(), fix.disabled():    # stock by request: not counted
        kept_stock = RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(4), state_keep_prob=0.5)
    fix.unpatch()
    run = make_run(_gru, steps=200, keep=0.6)                        # built and used stock
    with run.graph.as_default():                                     # built, never used
        unused = RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(4), state_keep_prob=0.5)
    messages = _patch_recording_warnings()
    assert len(messages) == 1, messages
    assert "after 2 DropoutWrapper instances" in messages[0]
    assert "(1 already used to build a graph)" in messages[0]
    assert "keep the stock ops" in messages[0] and "rebuild them" in messages[0]

    after = _dynamic_rnn_again(run)
    inputs, before, corrected, noise = run.run(
        [run.inputs, run.outputs, after, run.cell._recurrent_state_noise])
    assert not np.all(np.abs(before) <= 1.0)          # the graph built before: stock, exploding
    mask = np.floor(0.6 + noise) / 0.6
    expected = _reference_gru(inputs.astype(np.float64), _gru_kernels(run), mask)
    np.testing.assert_allclose(corrected, expected, rtol=1e-4, atol=1e-5)
    assert fix._wrapper.PLAN_ATTRIBUTE not in vars(unused)        # planned at its first step
    assert vars(kept_stock)[fix._wrapper.PLAN_ATTRIBUTE] is None   # stock for its whole life


def test_no_warning_when_nothing_was_built_before_the_patch():
    gc.collect()
    fix.unpatch()
    assert _patch_recording_warnings() == []
    assert _patch_recording_warnings() == []          # idempotent: nothing newly patched


def test_a_wrapper_built_in_disabled_stays_stock_after_a_repatch(make_run):
    stock = make_run(_gru, steps=200, keep=0.6, stock=True)
    fix.unpatch()
    fix.patch()
    again = _dynamic_rnn_again(stock)
    assert not np.all(np.abs(stock.run(again)) <= 1.0)


def test_the_policy_applies_to_wrappers_built_before_the_patch_at_their_first_step(make_run):
    fix.unpatch()
    run = make_run(_gru, steps=5, keep=0.6)
    _patch_recording_warnings(gru_policy="raise")
    with pytest.raises(fix.UnsafeStateDropoutError, match="gru_policy='raise'"):
        _dynamic_rnn_again(run)


@pytest.mark.skipif(TF_VERSION < (1, 4), reason="the stock constructor takes no filter before TF 1.4")
def test_a_filter_given_to_the_stock_constructor_still_wins_after_the_patch(make_run):
    fix.unpatch()
    never = make_run(lambda: RNN_CELL.LSTMCell(4, state_is_tuple=False), steps=6, keep=0.5,
                     dropout_state_filter_visitor=lambda state: False)
    fix.patch()
    no_dropout = make_run(lambda: RNN_CELL.LSTMCell(4, state_is_tuple=False), steps=6, keep=1.0)
    np.testing.assert_array_equal(never.run(_dynamic_rnn_again(never)),
                                  no_dropout.run(no_dropout.outputs))


_IMPORTED_LATE = """
import warnings
import numpy as np
import tensorflow as tf
V1 = tf.compat.v1 if hasattr(tf, "compat") and hasattr(tf.compat, "v1") else tf
with tf.Graph().as_default():
    early = [V1.nn.rnn_cell.DropoutWrapper(V1.nn.rnn_cell.GRUCell(4), state_keep_prob=0.5)
             for _ in range(3)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import tf_rnn_dropout_fix
    for w in caught:
        if issubclass(w.category, tf_rnn_dropout_fix.RNNDropoutWarning):
            print("WARNING:", w.message)
    outputs, _ = V1.nn.dynamic_rnn(early[0], tf.ones([2, 300, 3]), dtype=tf.float32)
    with V1.Session() as session:
        session.run(V1.global_variables_initializer())
        print("max=%r" % float(np.max(np.abs(session.run(outputs)))))
"""


def test_importing_the_package_after_building_wrappers_says_so():
    rc, out, err = run_python(_IMPORTED_LATE)
    assert rc == 0, err[-3000:]
    warned = [line for line in out.splitlines() if line.startswith("WARNING:")]
    assert len(warned) == 1 and "after 3 DropoutWrapper instances" in warned[0], out
    assert float(out.split("max=")[-1]) <= 1.0

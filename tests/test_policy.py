"""DESIGN 3.3: the GRU policy (reroute, warn, raise), its sources, and the fallback to warn."""
import json
import os
import sys
import warnings

import numpy as np
import pytest

import tensorflow as tf
import tf_rnn_dropout_fix as fix
from conftest import RNN_CELL, TF_VERSION, V1, run_python


def _wrap_gru(cell=None, **kwargs):
    kwargs.setdefault("state_keep_prob", 0.8)
    return RNN_CELL.DropoutWrapper(cell or RNN_CELL.GRUCell(4), **kwargs)


def test_raise_policy_raises_at_construction_naming_the_cell_and_the_fix():
    fix.patch(gru_policy="raise")
    with tf.Graph().as_default():
        with pytest.raises(fix.UnsafeStateDropoutError) as caught:
            _wrap_gru()
        message = str(caught.value)
        assert "GRUCell" in message and "state_keep_prob=1.0" in message and "reroute" in message
        assert isinstance(caught.value, ValueError)
        with pytest.raises(fix.UnsafeStateDropoutError):
            _wrap_gru(state_keep_prob=V1.placeholder_with_default(tf.constant(1.0), []))
        _wrap_gru(state_keep_prob=1.0, input_keep_prob=0.5)          # no state dropout: fine
        RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(4), state_keep_prob=0.5)   # not a GRU: fine


def test_warn_policy_warns_once_per_wrapper_and_keeps_the_stock_math(make_run):
    fix.patch(gru_policy="warn")
    with tf.Graph().as_default(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cell = _wrap_gru(variational_recurrent=True, dtype=tf.float32)
        outputs, _ = V1.nn.dynamic_rnn(cell, tf.ones([2, 30, 3]), dtype=tf.float32)
        with V1.Session() as session:
            session.run(V1.global_variables_initializer())
            session.run(outputs)
    ours = [w for w in caught if issubclass(w.category, fix.RNNDropoutWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert "GRUCell" in str(ours[0].message) and "gru_policy='warn'" in str(ours[0].message)
    warned = make_run(lambda: RNN_CELL.GRUCell(8), steps=40, keep=0.7)
    stock = make_run(lambda: RNN_CELL.GRUCell(8), steps=40, keep=0.7, stock=True)
    np.testing.assert_array_equal(stock.run(stock.outputs), warned.run(warned.outputs))


def test_policy_from_the_environment_and_its_validation():
    os.environ["TF_RNN_DROPOUT_FIX_GRU_POLICY"] = "raise"
    try:
        assert fix.status().as_dict()["gru_policy_source"] == "environment"
        with tf.Graph().as_default(), pytest.raises(fix.UnsafeStateDropoutError):
            _wrap_gru()
        os.environ["TF_RNN_DROPOUT_FIX_GRU_POLICY"] = "sometimes"
        with tf.Graph().as_default(), pytest.raises(ValueError) as caught:
            _wrap_gru()
        assert "TF_RNN_DROPOUT_FIX_GRU_POLICY" in str(caught.value) and "reroute" in str(caught.value)
    finally:
        del os.environ["TF_RNN_DROPOUT_FIX_GRU_POLICY"]


_ABSL_APP = """
import json, sys
import tf_rnn_dropout_fix as fix
absl_loaded_by_tf = "absl.flags" in sys.modules     # TF >= 1.14 imports it
from absl import flags
flags.FLAGS(["app", "--tf_rnn_dropout_fix_gru_policy=raise"])
status = fix.status().as_dict()
from conftest import RNN_CELL
try:
    RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(4), state_keep_prob=0.8)
    raised = False
except fix.UnsafeStateDropoutError:
    raised = True
print(json.dumps([absl_loaded_by_tf, status["gru_policy"], status["gru_policy_source"], raised]))
"""


def test_policy_from_an_absl_flag_declared_when_absl_loads():
    """The package declares its flags through its import hook when absl.flags loads: while the
    package imports TF (TF >= 1.14 imports absl) or when the app imports it (TF < 1.14)."""
    pytest.importorskip("absl.flags")     # a dependency of the package: only dev trees lack it
    rc, out, err = run_python(_ABSL_APP, env={"PYTHONPATH": os.pathsep.join(sys.path)})
    assert rc == 0, err[-3000:]
    absl_loaded_by_tf, policy, source, raised = json.loads(out.strip().splitlines()[-1])
    if TF_VERSION >= (1, 14):            # before, it depends on the stack (TF 1.8 - 1.13 on
        assert absl_loaded_by_tf         # Python 2.7 load absl themselves): either way works
    assert (policy, source, raised) == ("raise", "flag", True)


def test_code_policy_wins_over_the_environment():
    os.environ["TF_RNN_DROPOUT_FIX_GRU_POLICY"] = "raise"
    try:
        status = fix.patch(gru_policy="reroute")
        assert (status.policy, status.policy_source) == ("reroute", "code")
        with tf.Graph().as_default():
            _wrap_gru()
    finally:
        del os.environ["TF_RNN_DROPOUT_FIX_GRU_POLICY"]


class _UserGRU(RNN_CELL.GRUCell):
    """A GRU whose step the package cannot know: it must fall back to warn, saying so."""

    def call(self, inputs, state):
        return super(_UserGRU, self).call(inputs, state)


def _other_gru_families():
    families = [("user GRUCell subclass overriding call", lambda: _UserGRU(4))]
    if TF_VERSION >= (2, 0):
        families.append(("Keras GRUCell with its own recurrent_dropout",
                         lambda: tf.keras.layers.GRUCell(4, recurrent_dropout=0.2)))
    return families


@pytest.mark.parametrize("name,make_cell", _other_gru_families(),
                         ids=[f[0] for f in _other_gru_families()])
def test_a_gru_it_cannot_reroute_falls_back_to_warn(name, make_cell):
    with tf.Graph().as_default(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _wrap_gru(make_cell())
    messages = [str(w.message) for w in caught if issubclass(w.category, fix.RNNDropoutWarning)]
    assert len(messages) == 1 and "cannot reroute" in messages[0]

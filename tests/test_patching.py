"""DESIGN 3.1: every way user code reaches the stock class gets the corrected behaviour, and the
patch bookkeeping is exact (unpatch restores the very same objects; patching twice is a no-op).
"""
import sys
import textwrap

import numpy as np
import pytest

import tf_rnn_dropout_fix as fix
import tensorflow as tf
from conftest import RNN_CELL, TF_VERSION, V1, run_python

_PATCHED_NAMES = ("__init__", "__call__", "_call_wrapped_cell", "call")
_MISSING = object()


def _cell_classes():
    """Every class of every loaded RNN-cell module, found independently of the package."""
    classes = set()
    for name, module in list(sys.modules.items()):
        if module is None or not name.split(".")[0] in ("tensorflow", "tensorflow_core", "keras", "tf_keras"):
            continue
        if not any(part in name for part in ("rnn_cell", "cell_wrapper", "legacy_cells")):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, type):
                classes.add(value)
    return classes


def _snapshot():
    return {(cls, name): vars(cls).get(name, _MISSING) for cls in _cell_classes()
            for name in _PATCHED_NAMES}


def _aliases():
    found = {"tf.nn.rnn_cell.DropoutWrapper": RNN_CELL.DropoutWrapper}
    if TF_VERSION < (2, 0):
        from tensorflow.contrib import rnn as contrib_rnn
        found["tf.contrib.rnn.DropoutWrapper"] = contrib_rnn.DropoutWrapper
    if hasattr(tf, "compat") and hasattr(tf.compat, "v1"):
        found["tf.compat.v1.nn.rnn_cell.DropoutWrapper"] = tf.compat.v1.nn.rnn_cell.DropoutWrapper
    return found


def _gru_state_max(wrapper_class, steps=300):
    graph = tf.Graph()
    with graph.as_default():
        inputs = tf.constant(np.random.RandomState(0).randn(2, steps, 4).astype(np.float32))
        cell = wrapper_class(RNN_CELL.GRUCell(8), state_keep_prob=0.7, variational_recurrent=True,
                             dtype=tf.float32, seed=3)
        outputs, _ = V1.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
        with V1.Session() as session:
            session.run(V1.global_variables_initializer())
            return np.max(np.abs(session.run(outputs)))


@pytest.mark.parametrize("alias", sorted(_aliases()))
def test_every_public_alias_is_corrected(alias):
    assert _gru_state_max(_aliases()[alias]) <= 1.0


def test_a_user_subclass_is_corrected():
    class SwitchableDropoutWrapper(RNN_CELL.DropoutWrapper):
        """As in allenai/document-qa: a subclass users wrote around the stock class."""

    assert issubclass(SwitchableDropoutWrapper, RNN_CELL.DropoutWrapper)
    assert _gru_state_max(SwitchableDropoutWrapper) <= 1.0


def test_a_name_bound_before_the_import_is_corrected():
    early_import = ("from tensorflow.contrib.rnn import DropoutWrapper"
                    if TF_VERSION < (2, 0) else
                    "DropoutWrapper = tf.compat.v1.nn.rnn_cell.DropoutWrapper")
    code = textwrap.dedent("""
        import sys, warnings
        sys.path.insert(0, "tests")
        import tensorflow as tf
        %s
        import tf_rnn_dropout_fix
        import test_patching
        print("max=%%r" %% float(test_patching._gru_state_max(DropoutWrapper)))
    """ % early_import)
    rc, out, err = run_python(code)
    assert rc == 0, err[-3000:]
    assert float(out.strip().split("max=")[-1]) <= 1.0


def test_the_stock_wrapper_still_explodes_inside_disabled():
    with fix.disabled():
        state_max = _gru_state_max(RNN_CELL.DropoutWrapper, steps=700)
    assert not np.isfinite(state_max) or state_max > 1e10


def test_isinstance_against_the_stock_class_keeps_working():
    cell = RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(4), state_keep_prob=0.5)
    assert isinstance(cell, RNN_CELL.DropoutWrapper)
    assert type(cell) is RNN_CELL.DropoutWrapper


def test_unpatch_restores_every_attribute_by_identity_and_patch_twice_is_a_no_op():
    RNN_CELL.DropoutWrapper  # make sure the lazily loaded copies of this TF are loaded
    fix.unpatch()
    assert not fix.is_patched()
    stock = _snapshot()
    fix.patch()
    assert fix.is_patched()
    first = _snapshot()
    changed = [key for key in stock if first[key] is not stock[key]]
    assert changed, "patch() changed nothing"
    assert all(key[1] in ("__init__", "call", "__call__", "_call_wrapped_cell") for key in changed)
    fix.patch()
    second = _snapshot()
    assert all(second[key] is first[key] for key in first)
    fix.unpatch()
    restored = _snapshot()
    assert all(restored[key] is stock[key] for key in stock)
    fix.unpatch()    # a second unpatch is safe and changes nothing
    assert all(_snapshot()[key] is stock[key] for key in stock)


def test_status_lists_the_classes_aliases_and_policy():
    RNN_CELL.DropoutWrapper
    status = fix.status()
    data = status.as_dict()
    assert data["patched"] is True and data["gru_policy"] == "reroute"
    assert data["gru_policy_source"] == "default"
    wrapper = [w for w in data["wrappers"] if w["class"].endswith(RNN_CELL.DropoutWrapper.__name__)]
    assert wrapper and all(w["corrected"] for w in data["wrappers"])
    assert "nn.rnn_cell.DropoutWrapper" in str(status) or "compat.v1" in str(status)
    assert data["tf_version"] == tf.__version__


@pytest.mark.skipif(TF_VERSION < (2, 0), reason="TF 2.x eager and tf.nn.RNNCellDropoutWrapper")
def test_tf2_eager_keras_usage_keeps_working():
    """The common TF2 use (a Keras RNN layer over the V2 wrapper) must not break under the patch."""
    inputs = np.random.RandomState(0).randn(2, 5, 3).astype(np.float32)
    for make_cell in (lambda: tf.keras.layers.GRUCell(4), lambda: tf.keras.layers.SimpleRNNCell(4)):
        for kwargs in (dict(output_keep_prob=0.5, seed=1), dict(input_keep_prob=0.5, seed=1)):
            layer = tf.keras.layers.RNN(tf.nn.RNNCellDropoutWrapper(make_cell(), **kwargs))
            outputs = layer(inputs).numpy()
            assert outputs.shape == (2, 4) and np.all(np.isfinite(outputs))


def test_supported_range_is_checked_on_parsed_versions():
    check = fix._compat.support_problem
    assert check("1.2.0") is None and check("2.21.0") is None and check("1.15.5") is None
    assert check("2.3.0rc1") is None
    assert "outside the supported range" in check("1.1.0")
    assert "outside the supported range" in check("2.22.0")
    assert "unrecognised" in check("nightly")

"""Keras 3.0 - 3.7's own ``GRUCell(recurrent_dropout=...)``: corrected to Keras 3.8's semantics.

Those releases mask the carried state ``h_{t-1}`` itself (keras-team/keras#20276), so the state
grows as ``(1/keep)^t``; Keras 3.8 (keras-team/keras#20656) masks ``h_{t-1}`` only inside the
recurrent products, one mask per gate.  Stock figures come from a fresh interpreter with
``TF_RNN_DROPOUT_FIX=off`` (the classes never patched); everything runs on the TF backend.
On Keras >= 3.8 the tests check that the package leaves the class alone.
"""
import json
import os
import sys
import warnings

import numpy as np
import pytest

import tf_rnn_dropout_fix as fix
from conftest import run_python, sigmoid

try:
    import keras
    KERAS_VERSION = fix._compat.parse_version(getattr(keras, "__version__", "")) or (0, 0)
except Exception:   # not installed, or a Keras 2 that does not import on this TF
    keras, KERAS_VERSION = None, (0, 0)

pytestmark = pytest.mark.skipif(
    KERAS_VERSION[0] != 3 or keras.backend.backend() != "tensorflow",
    reason="needs Keras 3 on the TensorFlow backend (Keras here: %s)" % (
        getattr(keras, "__version__", "not installed")))

LOW, HIGH = fix._compat.KERAS3_GRU_CARRIED_STATE_DROPOUT
AFFECTED = LOW <= KERAS_VERSION < HIGH
affected_only = pytest.mark.skipif(
    not AFFECTED, reason="Keras %s does not mask the GRU's carried state" % (KERAS_VERSION,))
fixed_only = pytest.mark.skipif(
    AFFECTED, reason="Keras %s is in the affected range" % (KERAS_VERSION,))

BATCH, STEPS, FEATURES, UNITS = 8, 300, 16, 32


def _sequence(steps=STEPS, seed=0):
    return np.random.RandomState(seed).randn(BATCH, steps, FEATURES).astype("float32")


def _gru_cell_class():
    return sys.modules["keras.src.layers.rnn.gru"].GRUCell


# --- One step against NumPy ---------------------------------------------------------------------

def _reference_step(x, h, kernel, recurrent_kernel, bias, input_masks, state_masks, reset_after):
    """Keras 3.8's GRUCell step with one input and one state mask per gate [z, r, h]."""
    units = h.shape[1]
    cols = [slice(0, units), slice(units, 2 * units), slice(2 * units, 3 * units)]
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, None)
    x_gate = [(x * input_masks[g]).dot(kernel[:, cols[g]]) + input_bias[cols[g]]
              for g in range(3)]
    h_gate = [h * state_masks[g] for g in range(3)]
    rec = [h_gate[g].dot(recurrent_kernel[:, cols[g]]) for g in range(2)]
    if reset_after:
        rec = [rec[g] + recurrent_bias[cols[g]] for g in range(2)]
    z = sigmoid(x_gate[0] + rec[0])
    r = sigmoid(x_gate[1] + rec[1])
    if reset_after:
        candidate = np.tanh(x_gate[2] + r * (h_gate[2].dot(recurrent_kernel[:, cols[2]])
                                             + recurrent_bias[cols[2]]))
    else:
        candidate = np.tanh(x_gate[2] + (r * h_gate[2]).dot(recurrent_kernel[:, cols[2]]))
    return z * h + (1 - z) * candidate       # the unmasked h is carried


@affected_only
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("implementation", [1, 2])
@pytest.mark.parametrize("reset_after", [True, False])
def test_one_step_is_keras_38s_formula(reset_after, implementation, dropout):
    rng = np.random.RandomState(1)
    units, features = 5, 3
    cell = keras.layers.GRUCell(units, dropout=dropout, recurrent_dropout=0.4,
                                reset_after=reset_after, implementation=implementation, seed=3)
    x = rng.randn(4, features).astype("float32")
    h = rng.randn(4, units).astype("float32")
    cell(x, [h], training=False)        # builds
    weights = [rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in cell.get_weights()]
    cell.set_weights(weights)
    cell.reset_dropout_mask()
    cell.reset_recurrent_dropout_mask()
    output, state = cell(x, [h], training=True)
    if dropout:
        input_masks = [np.asarray(m) for m in cell.get_dropout_mask(x)]
    else:
        assert cell.get_dropout_mask(x) is None
        input_masks = [np.ones_like(x)] * 3
    state_masks = [np.asarray(m) for m in cell.get_recurrent_dropout_mask(h)]
    assert len(input_masks) == len(state_masks) == 3    # one per gate, as Keras 3.8 draws them
    assert any((a != b).any() for a, b in zip(state_masks, state_masks[1:]))
    for mask, keep in [(m, 1 - dropout) for m in input_masks] + [(m, 0.6) for m in state_masks]:
        assert np.allclose(np.unique(mask)[np.unique(mask) > 0], 1 / keep, rtol=1e-5)
    expected = _reference_step(x, h, weights[0], weights[1], weights[2], input_masks,
                               state_masks, reset_after)
    np.testing.assert_allclose(np.asarray(output), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(state[0]), expected, rtol=1e-5, atol=1e-5)


# --- Long sequences, every way to reach the cell ------------------------------------------------

def _layer(entry, reset_after, recurrent_dropout=0.5):
    if entry == "keras.layers.GRU":
        return keras.layers.GRU(UNITS, recurrent_dropout=recurrent_dropout,
                                return_sequences=True, reset_after=reset_after)
    if entry == "keras.layers.RNN(GRUCell)":
        return keras.layers.RNN(keras.layers.GRUCell(UNITS, recurrent_dropout=recurrent_dropout,
                                                     reset_after=reset_after),
                                return_sequences=True)
    import tensorflow as tf
    return tf.keras.layers.GRU(UNITS, recurrent_dropout=recurrent_dropout,
                               return_sequences=True, reset_after=reset_after)


def _max_abs(layer, x, training=True):
    return float(np.max(np.abs(np.asarray(layer(x, training=training)))))


ENTRIES = ["keras.layers.GRU", "keras.layers.RNN(GRUCell)"]
if os.environ.get("TF_USE_LEGACY_KERAS", "0").lower() not in ("1", "true", "yes"):
    ENTRIES.append("tf.keras.layers.GRU")        # tf.keras is Keras 3 itself here


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("entry", ENTRIES)
def test_300_steps_stay_bounded(entry, reset_after):
    if entry == "tf.keras.layers.GRU":
        import tensorflow as tf
        assert tf.keras.layers.GRU is keras.layers.GRU
    assert _max_abs(_layer(entry, reset_after), _sequence()) < 1.5


# --- Stock, in a fresh unpatched interpreter ----------------------------------------------------

_STOCK = r"""
import json, sys
import numpy as np
import tf_rnn_dropout_fix as fix
import keras
paths = json.loads(sys.argv[1])
out = {"patched": fix.is_patched(), "keras": keras.__version__}
x = np.random.RandomState(0).randn(%(batch)d, %(steps)d, %(features)d).astype("float32")
for reset_after in (True, False):
    layer = keras.layers.GRU(%(units)d, recurrent_dropout=0.5, return_sequences=True,
                             reset_after=reset_after)
    y = np.abs(np.asarray(layer(x, training=True)))
    out["reset_after=%%s" %% reset_after] = [float(y[:, 9].max()), float(y[:, 99].max()),
                                             float(y[:, -1].max())]
exec(paths["rd0"])
out["rd0"] = rd0_output().tolist()
for name in ("keras", "h5"):
    model = keras.models.load_model(paths["corrected_" + name])
    out["load_" + name] = np.asarray(model(paths_x(), training=False)).tolist()
model = rd0_model(0.5)
model.save(paths["stock_keras"])
model.save(paths["stock_h5"])
model.save_weights(paths["stock_weights"])
out["stock_prediction"] = np.asarray(model(paths_x(), training=False)).tolist()
print(json.dumps(out))
""" % {"batch": BATCH, "steps": STEPS, "features": FEATURES, "units": UNITS}

# Shared by both processes: a seeded model and its output (exec'd in the stock process).
_MODELS = r"""
def paths_x():
    return np.random.RandomState(5).randn(4, 30, 6).astype("float32")

def rd0_model(recurrent_dropout, dropout=0.3):
    keras.utils.set_random_seed(7)
    inputs = keras.Input((30, 6))
    gru = keras.layers.GRU(8, dropout=dropout, recurrent_dropout=recurrent_dropout,
                           return_sequences=True, seed=11, name="gru")
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(gru(inputs)))
    return model

def rd0_output():
    model = rd0_model(0.0)
    return np.asarray(model(paths_x(), training=True))
"""
exec(_MODELS)


@pytest.fixture(scope="module")
def stock(tmp_path_factory):
    """Figures from an interpreter that never patched, and the files both sides saved."""
    folder = tmp_path_factory.mktemp("keras3_gru")
    paths = dict((name, str(folder / name)) for name in (
        "corrected_keras.keras", "corrected_h5.h5", "stock_keras.keras", "stock_h5.h5",
        "stock_weights.weights.h5"))
    paths = dict((name.split(".")[0], path) for name, path in paths.items())
    model = rd0_model(0.5)
    model.save(paths["corrected_keras"])
    model.save(paths["corrected_h5"])
    paths["rd0"] = _MODELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc, out, err = run_python(_STOCK.replace("sys.argv[1]", repr(json.dumps(paths))),
                                  env={"TF_RNN_DROPOUT_FIX": "off"}, timeout=600)
    assert rc == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    result["paths"] = paths
    result["corrected_prediction"] = np.asarray(model(paths_x(), training=False)).tolist()
    return result


@affected_only
@pytest.mark.parametrize("reset_after", [True, False])
def test_stock_overflows_where_corrected_does_not(stock, reset_after):
    assert stock["patched"] is False
    at10, at100, last = stock["reset_after=%s" % reset_after]
    assert at10 > 5.0                                    # (1/0.5)^t at work
    assert not at100 < 1e10                              # 3.7e28 - 5.1e28 measured, or inf/NaN
    assert not last < 1e10


def test_recurrent_dropout_0_is_stock_bit_for_bit(stock):
    assert np.array_equal(rd0_output(), np.asarray(stock["rd0"], dtype="float32"))
    with fix.disabled():
        assert np.array_equal(rd0_output(), np.asarray(stock["rd0"], dtype="float32"))


def test_stock_loads_what_corrected_saved(stock):
    for name in ("keras", "h5"):
        np.testing.assert_allclose(stock["load_" + name], stock["corrected_prediction"],
                                   rtol=1e-6, atol=1e-6)


def test_corrected_loads_what_stock_saved(stock):
    expected = np.asarray(stock["stock_prediction"])
    for name in ("stock_keras", "stock_h5"):
        model = keras.models.load_model(stock["paths"][name])
        np.testing.assert_allclose(model(paths_x(), training=False), expected, rtol=1e-6,
                                   atol=1e-6)
        gru = model.get_layer("gru")
        assert gru.cell.recurrent_dropout == 0.5
        if AFFECTED:
            assert vars(gru.cell)[fix._keras3_gru.DECISION_ATTRIBUTE] == "corrected"
            assert float(np.max(np.abs(gru(_sequence(300)[:, :, :6], training=True)))) < 1.5
    model = rd0_model(0.5)
    model.load_weights(stock["paths"]["stock_weights"])
    np.testing.assert_allclose(model(paths_x(), training=False), expected, rtol=1e-6, atol=1e-6)


# --- Training -----------------------------------------------------------------------------------

def test_fit_trains_finite():
    keras.utils.set_random_seed(3)
    rng = np.random.RandomState(3)
    x = rng.randn(32, 200, 4).astype("float32")
    y = x[:, -5:, :1].mean(axis=1)
    model = keras.Sequential([keras.Input((200, 4)),
                              keras.layers.GRU(16, recurrent_dropout=0.5, dropout=0.2),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    after = model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after)
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))


# --- The package's rules ------------------------------------------------------------------------

@affected_only
def test_policy_warn_keeps_the_keras_math_with_one_warning():
    fix.patch(gru_policy="warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = keras.layers.GRU(UNITS, recurrent_dropout=0.5, return_sequences=True)
    ours = [w for w in caught if issubclass(w.category, fix.RNNDropoutWarning)]
    assert len(ours) == 1 and "keras-team/keras#20276" in str(ours[0].message)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _max_abs(layer, _sequence(40)) > 100.0       # stock math: grows as 2^t
    assert not [w for w in caught if issubclass(w.category, fix.RNNDropoutWarning)]


@affected_only
def test_policy_raise_raises_at_construction():
    fix.patch(gru_policy="raise")
    with pytest.raises(fix.UnsafeStateDropoutError, match="recurrent_dropout"):
        keras.layers.GRU(UNITS, recurrent_dropout=0.5)
    with pytest.raises(fix.UnsafeStateDropoutError):
        keras.layers.GRUCell(UNITS, recurrent_dropout=0.2)
    keras.layers.GRU(UNITS, dropout=0.5)        # no recurrent dropout: nothing to refuse


@affected_only
def test_disabled_builds_stock_for_life_and_steps_stock():
    with fix.disabled():
        built_stock = _layer("keras.layers.GRU", True)
    assert _max_abs(built_stock, _sequence(40)) > 100.0
    built_corrected = _layer("keras.layers.GRU", True)
    with fix.disabled():
        assert _max_abs(built_corrected, _sequence(40)) > 100.0
    assert _max_abs(built_corrected, _sequence(40)) < 1.5


@affected_only
def test_unpatch_puts_the_exact_originals_back():
    cls = _gru_cell_class()
    originals = dict((name, fix._patching.original(cls, name)) for name in (
        "__init__", "call", "get_dropout_mask", "get_recurrent_dropout_mask"))
    assert vars(cls)["__init__"].__wrapped__ is originals["__init__"]
    for name in ("get_dropout_mask", "get_recurrent_dropout_mask"):   # from DropoutRNNCell
        assert fix._patching._saved[(cls, name)] is fix._patching._MISSING
    fix.unpatch()
    try:
        assert vars(cls)["__init__"] is originals["__init__"]
        assert vars(cls)["call"] is originals["call"]
        assert "get_dropout_mask" not in vars(cls)
        assert "get_recurrent_dropout_mask" not in vars(cls)
        assert _max_abs(_layer("keras.layers.GRU", True), _sequence(40)) > 100.0
        assert fix.status().keras3_gru.startswith("STOCK")
    finally:
        fix.patch()
    assert _max_abs(_layer("keras.layers.GRU", True), _sequence(40)) < 1.5


@affected_only
def test_status_says_corrected():
    status = fix.status()
    assert status.keras3_gru.startswith("corrected")
    assert "Keras 3 GRU recurrent_dropout: corrected" in str(status)
    assert status.as_dict()["keras3_gru_recurrent_dropout"] == status.keras3_gru


_IMPORT_ORDER = r"""
import sys, json
import numpy as np
%s
import tensorflow as tf
layer = tf.keras.layers.GRU(32, recurrent_dropout=0.5, return_sequences=True)
y = layer(np.random.RandomState(0).randn(8, 300, 16).astype("float32"), training=True)
print(json.dumps({"max": float(np.max(np.abs(np.asarray(y)))),
                  "tf.keras is keras": tf.keras.layers.GRU is keras.layers.GRU,
                  "status": fix.status().keras3_gru}))
"""


@pytest.mark.parametrize("order", ["package first", "keras first"])
def test_import_order(order):
    """Keras imported after the package (the import hook) or before it: corrected either way.

    Without TF_USE_LEGACY_KERAS, ``tf.keras`` is this Keras 3; on Keras >= 3.8 it is untouched
    and bounded by itself."""
    imports = ("import tf_rnn_dropout_fix as fix\nimport keras" if order == "package first"
               else "import keras\nimport tf_rnn_dropout_fix as fix")
    env = {"TF_USE_LEGACY_KERAS": "0"}
    rc, out, err = run_python(_IMPORT_ORDER % imports, env=env)
    assert rc == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["max"] < 1.5 and result["tf.keras is keras"]
    assert result["status"].startswith("corrected" if AFFECTED else "not needed here")


# --- Keras >= 3.8: left alone -------------------------------------------------------------------

@fixed_only
def test_fixed_keras_is_untouched():
    cls = _gru_cell_class()
    assert not fix._compat.keras3_gru_masks_carried_state(cls)
    for name in ("__init__", "get_dropout_mask", "get_recurrent_dropout_mask"):
        assert (cls, name) not in fix._patching._saved
    assert "get_dropout_mask" not in vars(cls)
    assert fix.status().keras3_gru == "not needed here (Keras %s)" % keras.__version__
    layer = _layer("keras.layers.GRU", True)
    assert not hasattr(layer.cell, fix._keras3_gru.DECISION_ATTRIBUTE)
    assert _max_abs(layer, _sequence()) < 1.5


@affected_only
def test_repro_shows_stock_against_corrected():
    from tf_rnn_dropout_fix import _repro
    comparison = _repro.compare("keras3-gru", 30)
    (_, stock_memory, stock_loss), (_, fixed_memory, fixed_loss) = comparison.runs
    assert not stock_memory[-1] < 100.0                 # 2^t growth, or already inf/NaN
    assert np.max(fixed_memory) < 1.5 and np.isfinite(fixed_loss)
    header, rows = _repro.table(comparison)
    assert [row[1] for row in rows] == ["stock", "corrected"]

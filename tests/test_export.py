"""Exported models and Estimators (DESIGN 3.6): nothing exported depends on the package.

The corrected step is ordinary TF ops, so a SavedModel written from a corrected graph is a stock
SavedModel: it holds only registered ops (no ``py_func``), no reference to the package, and it
loads and serves in a fresh process where the package cannot even be imported.  Three exporters:
TF1's ``SavedModelBuilder``, an Estimator's export, and (TF 2) ``tf.saved_model.save`` of a Keras
model with the V2 wrapper.  Everything is exported once per module and served by one fresh
interpreter, so the module costs one extra TF import.
"""
import json
import os
import warnings

import numpy as np
import pytest

import tensorflow as tf
import tf_rnn_dropout_fix as fix
from conftest import RNN_CELL, TF_VERSION, V1, run_python

STEPS, DEPTH, UNITS = 8, 3, 6
# Long enough for the stock GRU state to overflow under state_keep_prob=0.8 in a few steps.
NAN_STEPS = 400
ESTIMATOR = getattr(tf, "estimator", None)
NO_ESTIMATOR = "TF %s has no tf.estimator (removed in TF 2.16)" % tf.__version__
PY_FUNC_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def _inputs(batch=4, steps=STEPS, seed=0):
    return np.random.RandomState(seed).randn(batch, steps, DEPTH).astype(np.float32)


def _wrapped_gru(keep, bias=None):
    kwargs = {}
    if bias is not None:
        kwargs["bias_initializer"] = V1.constant_initializer(bias)
    return RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(UNITS, **kwargs), state_keep_prob=keep,
                                   variational_recurrent=True, dtype=tf.float32, seed=5)


def _predict_signature(inputs, outputs):
    utils = getattr(V1.saved_model, "signature_def_utils", V1.saved_model)
    return utils.predict_signature_def(inputs=inputs, outputs=outputs)


def _export_builder(path, x):
    """A TF1 graph: the keep probability a tensor (1.0 unless fed), so the corrected ops run."""
    graph = tf.Graph()
    with graph.as_default():
        V1.set_random_seed(1)
        inputs = V1.placeholder(tf.float32, [None, STEPS, DEPTH], name="x")
        keep = V1.placeholder_with_default(tf.constant(1.0), [], name="keep")
        outputs, _ = V1.nn.dynamic_rnn(_wrapped_gru(keep), inputs, dtype=tf.float32)
        y = V1.layers.dense(outputs[:, -1], 1)
        train = V1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_mean(tf.square(y)))
        with V1.Session(graph=graph) as session:
            session.run(V1.global_variables_initializer())
            session.run(train, {inputs: x, keep: 0.8})
            served = session.run(y, {inputs: x})
            builder = V1.saved_model.builder.SavedModelBuilder(path)
            builder.add_meta_graph_and_variables(
                session, [V1.saved_model.tag_constants.SERVING],
                signature_def_map={"serving_default": _predict_signature({"x": inputs},
                                                                         {"y": y})})
            builder.save()
    return served


def _model_fn(features, labels, mode):
    keys = ESTIMATOR.ModeKeys
    keep = 0.8 if mode == keys.TRAIN else 1.0
    outputs, _ = V1.nn.dynamic_rnn(_wrapped_gru(keep, bias=3.0), features["x"], dtype=tf.float32)
    y = V1.layers.dense(outputs[:, -1], 1)
    if mode == keys.PREDICT:
        return ESTIMATOR.EstimatorSpec(mode, predictions={"y": y}, export_outputs={
            "serving_default": ESTIMATOR.export.PredictOutput({"y": y})})
    loss = V1.losses.mean_squared_error(labels, y)
    train = V1.train.GradientDescentOptimizer(0.05).minimize(
        loss, global_step=V1.train.get_global_step())
    return ESTIMATOR.EstimatorSpec(mode, loss=loss, train_op=train)


def _input_fn(x, y):
    # Constant tensors (tf.data arrives in TF 1.4): the same batch at every step.
    return lambda: ({"x": tf.constant(x)}, tf.constant(y))


def _predict(estimator, x):
    """One batch's predictions (a constant input never ends, so take the first batch)."""
    predictions = estimator.predict(lambda: {"x": tf.constant(x)})
    return np.array([next(predictions)["y"] for _ in range(len(x))])


def _kernels(estimator):
    # Read from the latest checkpoint (Estimator.get_variable_names arrives in TF 1.4).
    reader = V1.train.NewCheckpointReader(V1.train.latest_checkpoint(estimator.model_dir))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name.endswith("kernel") or name.endswith("weights")}


def _estimator(model_dir):
    # RunConfig's keywords arrive in TF 1.4; TF 1.3 sets them through replace().
    config = ESTIMATOR.RunConfig().replace(tf_random_seed=1, save_checkpoints_steps=1000,
                                           save_summary_steps=1000)
    return ESTIMATOR.Estimator(_model_fn, model_dir=model_dir, config=config)


def _train_estimator(model_dir, x, y, steps=3):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = _estimator(model_dir)
        estimator.train(_input_fn(x, y), steps=steps)
    return estimator


def _export_estimator(estimator, path, x):
    def serving():                 # called inside the export graph (TF 2 runs eagerly outside)
        inputs = V1.placeholder(tf.float32, [None, NAN_STEPS, DEPTH], name="x")
        return ESTIMATOR.export.ServingInputReceiver({"x": inputs}, {"x": inputs})
    export = getattr(estimator, "export_saved_model", None) or estimator.export_savedmodel
    exported = export(path, serving)
    return exported.decode() if isinstance(exported, bytes) else exported


def _keras_model(keep):
    layers = tf.keras.layers
    cell = tf.nn.RNNCellDropoutWrapper(layers.GRUCell(UNITS), state_keep_prob=keep,
                                       variational_recurrent=True, dtype=tf.float32, seed=5)
    return tf.keras.Sequential([layers.RNN(cell, input_shape=(STEPS, DEPTH)), layers.Dense(1)])


def _save_keras(model, path):
    serve = tf.function(lambda inputs: {"y": model(inputs, training=False)},
                        input_signature=[tf.TensorSpec([None, STEPS, DEPTH], tf.float32)])
    tf.saved_model.save(model, path, signatures=serve.get_concrete_function())


def _export_keras(path, dropout_path, x, y):
    """A Keras model fitted with state dropout (the rerouted step, saved as it is: in eager
    mode the V2 wrapper keeps the keep probability it was built with), and its weights in the
    same model at keep 1, saved for serving."""
    model = _keras_model(0.8)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    initial = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(initial, model.get_weights()))
    _save_keras(model, dropout_path)
    serving = _keras_model(1.0)
    serving.build((None, STEPS, DEPTH))
    serving.set_weights(model.get_weights())
    _save_keras(serving, path)
    return serving(x, training=False).numpy(), model(x, training=False).numpy()


_SERVE = """
import json, sys
sys.modules["tf_rnn_dropout_fix"] = None          # the package cannot be imported here
try:
    import tf_rnn_dropout_fix
    importable = True
except ImportError:
    importable = False
import numpy as np
import tensorflow as tf
V1 = tf.compat.v1 if hasattr(tf, "compat") and hasattr(tf.compat, "v1") else tf
jobs = json.loads(sys.argv[1])
result = {"importable": importable, "loaded": sorted(m for m in sys.modules
                                                     if m.startswith("tf_rnn_dropout_fix")
                                                     and sys.modules[m] is not None)}
for name, job in sorted(jobs.items()):
    x = np.load(job["x"])
    if job["kind"] == "v1":
        graph = tf.Graph()
        with graph.as_default(), V1.Session(graph=graph) as session:
            meta = V1.saved_model.loader.load(session, ["serve"], job["path"])
            signature = meta.signature_def["serving_default"]
            out = session.run(signature.outputs["y"].name, {signature.inputs["x"].name: x})
    else:
        loaded = tf.saved_model.load(job["path"])
        out = loaded.signatures["serving_default"](tf.constant(x))["y"].numpy()
    result[name] = np.asarray(out).tolist()
print("RESULT " + json.dumps(result))
"""


def _graph_facts(export_dir):
    """Op types of every graph and function in saved_model.pb, and whether it names the package."""
    from tensorflow.core.protobuf import saved_model_pb2
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as handle:
        data = handle.read()
    model = saved_model_pb2.SavedModel()
    model.ParseFromString(data)
    ops = set()
    for meta in model.meta_graphs:
        ops.update(node.op for node in meta.graph_def.node)
        for function in meta.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return ops, b"tf_rnn_dropout_fix" in data


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    x, x_long = _inputs(), _inputs(steps=NAN_STEPS, seed=3)
    y_long = np.random.RandomState(4).randn(4, 1).astype(np.float32)
    np.save(str(root / "x.npy"), x)
    np.save(str(root / "x_long.npy"), x_long)
    jobs, expected, facts = {}, {}, {"y_long": y_long}
    jobs["builder"] = {"kind": "v1", "path": str(root / "builder"), "x": str(root / "x.npy")}
    expected["builder"] = _export_builder(jobs["builder"]["path"], x)
    if ESTIMATOR is not None:
        estimator = _train_estimator(str(root / "estimator"), x_long, y_long, steps=2)
        before = _kernels(estimator)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.train(_input_fn(x_long, y_long), steps=1)
        facts.update(estimator=estimator, kernels=(before, _kernels(estimator)))
        path = _export_estimator(estimator, str(root / "estimator_export"), x_long)
        jobs["estimator"] = {"kind": "v1", "path": path, "x": str(root / "x_long.npy")}
        expected["estimator"] = _predict(estimator, x_long)
    if TF_VERSION >= (2, 0):
        y = np.random.RandomState(1).randn(4, 1).astype(np.float32)
        for name in ("keras", "keras dropout"):
            jobs[name] = {"kind": "v2", "path": str(root / name.replace(" ", "_")),
                          "x": str(root / "x.npy")}
        expected["keras"], expected["keras dropout"] = _export_keras(
            jobs["keras"]["path"], jobs["keras dropout"]["path"], x, y)
    rc, out, err = run_python(_SERVE, args=[json.dumps(jobs)])
    assert rc == 0, err[-3000:]
    facts.update(jobs=jobs, expected=expected, root=root,
                 served=json.loads(out.split("RESULT ", 1)[1]))
    return facts


EXPORTERS = ["builder", "estimator", "keras", "keras dropout"]


def _skip_absent(exported, name):
    if name == "estimator" and ESTIMATOR is None:
        pytest.skip(NO_ESTIMATOR)
    if name.startswith("keras") and name not in exported["jobs"]:
        pytest.skip("tf.saved_model.save and the V2 wrapper are TF 2.x")


@pytest.mark.parametrize("name", EXPORTERS)
def test_an_exported_model_serves_where_the_package_cannot_be_imported(exported, name):
    _skip_absent(exported, name)
    served = exported["served"]
    assert served["importable"] is False and served["loaded"] == []
    expected, result = np.asarray(exported["expected"][name]), np.asarray(served[name])
    assert np.all(np.isfinite(expected)) and np.all(np.isfinite(result))
    assert result.shape == expected.shape
    if name != "keras dropout":          # that one serves with its dropout: fresh masks per call
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", EXPORTERS)
def test_an_exported_graph_holds_only_stock_ops_and_no_reference_to_the_package(exported, name):
    _skip_absent(exported, name)
    ops, names_package = _graph_facts(exported["jobs"][name]["path"])
    assert ops and not names_package
    assert not ops & PY_FUNC_OPS, ops & PY_FUNC_OPS
    from tensorflow.python.framework import op_def_registry
    registered = getattr(op_def_registry, "get", None)
    if registered is not None:                      # TF >= 2.2; 1.x: get_registered_ops()
        assert [op for op in sorted(ops) if registered(op) is None] == []
    else:
        assert ops <= set(op_def_registry.get_registered_ops())


@pytest.mark.skipif(ESTIMATOR is None, reason=NO_ESTIMATOR)
def test_an_estimator_trains_finite_evaluates_and_predicts_deterministically(exported):
    estimator = exported["estimator"]
    x_long, y_long = np.load(str(exported["root"] / "x_long.npy")), exported["y_long"]
    before, after = exported["kernels"]
    assert sorted(before) == sorted(after) and len(after) == 3     # gates, candidate, dense
    assert all(np.all(np.isfinite(value)) for value in after.values())
    assert any(not np.array_equal(before[name], after[name]) for name in after)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        metrics = estimator.evaluate(_input_fn(x_long, y_long), steps=1)
    assert np.isfinite(metrics["loss"]) and metrics["global_step"] == 3
    first = _predict(estimator, x_long)
    assert first.shape == (4, 1) and np.all(np.isfinite(first))
    np.testing.assert_array_equal(first, _predict(estimator, x_long))


@pytest.mark.skipif(ESTIMATOR is None, reason=NO_ESTIMATOR)
def test_the_same_estimator_on_the_stock_wrapper_reaches_a_nan_loss(exported, tmp_path):
    x_long, y_long = np.load(str(exported["root"] / "x_long.npy")), exported["y_long"]
    with fix.disabled():
        with pytest.raises(V1.train.NanLossDuringTrainingError):
            _train_estimator(str(tmp_path / "stock"), x_long, y_long, steps=3)

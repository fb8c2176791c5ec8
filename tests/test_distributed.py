"""Distributed placement: the corrected wrapper under device functions and MirroredStrategy.

Placement must not change the math: at keep probability 1 a distributed run equals a
single-device run, and with dropout both stay finite.  Local devices only: two CPU devices in
one process stand in for a parameter server and a worker, or for two replicas.
"""
import json

import numpy as np
import pytest

from conftest import RNN_CELL, TF_VERSION, TWO_LOGICAL_CPUS, V1, run_python


def _gru():
    return RNN_CELL.GRUCell(6)


def _two_cpus():
    return V1.ConfigProto(device_count={"CPU": 2}, allow_soft_placement=False)


@pytest.mark.parametrize("keep", [1.0, 0.6], ids=["keep 1", "keep 0.6"])
def test_a_tf1_graph_placed_by_replica_device_setter_equals_the_single_device_graph(make_run,
                                                                                  keep):
    setter = V1.train.replica_device_setter(ps_tasks=1, ps_device="/cpu:1",
                                            worker_device="/cpu:0")
    placed = make_run(_gru, steps=40, keep=keep, device=setter, session_config=_two_cpus())
    single = make_run(_gru, steps=40, keep=keep)
    with placed.graph.as_default():
        devices = {v.op.name: v.device for v in V1.global_variables()}
    assert devices and all(d.upper().endswith("CPU:1") for d in devices.values()), devices
    assert placed.outputs.device.upper().endswith("CPU:0")
    for run in (placed, single):
        run.run(run.train)
    placed_outputs, single_outputs = placed.run(placed.outputs), single.run(single.outputs)
    assert np.all(np.isfinite(placed_outputs)) and np.max(np.abs(placed_outputs)) <= 1.0
    if keep == 1.0:
        np.testing.assert_allclose(placed_outputs, single_outputs, rtol=1e-6, atol=1e-7)


# Logical devices must be configured before TensorFlow initialises its runtime, so the
# strategy runs in a fresh interpreter.  The wrapped cell is the compat.v1 GRUCell in the
# compat.v1 wrapper; tf.keras.layers.RNN drives it like any cell from TF 2.2 (stock Keras never
# sees that GRU's variables, so fit left them untrained: the test checks that they train).
# On TF 2.0 and 2.1 Keras cannot drive that wrapper, stock or corrected ("call() takes 2
# positional arguments but 3 were given"), nor TF's V2 wrapper around a compat.v1 cell (a rank
# error in its concat): there it is the V2 wrapper around a Keras GRUCell, which the reroute
# covers too.
_CELL_FROM_TF_2_2 = """tf.compat.v1.nn.rnn_cell.DropoutWrapper(
        tf.compat.v1.nn.rnn_cell.GRUCell(6), state_keep_prob=keep, seed=5)"""
_CELL_ON_TF_2_0 = """tf.nn.RNNCellDropoutWrapper(
        tf.keras.layers.GRUCell(6), state_keep_prob=keep, seed=5)"""
_MIRRORED = TWO_LOGICAL_CPUS + """
import json, random, sys
import numpy as np
import tf_rnn_dropout_fix

x = np.random.RandomState(0).randn(16, 12, 3).astype(np.float32)
y = np.random.RandomState(1).randn(16, 1).astype(np.float32)


def fit(keep, strategy=None):
    if hasattr(tf.keras.utils, "set_random_seed"):   # TF 2.7+: Python, NumPy and TF seeds
        tf.keras.utils.set_random_seed(3)
    else:
        random.seed(3)
        np.random.seed(3)
        tf.random.set_seed(3)
    cell = %(cell)s
    model = tf.keras.Sequential([tf.keras.layers.RNN(cell, input_shape=(12, 3)),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    gru = cell.cell.trainable_weights
    tracked = len(gru) == %(weights)d and all(any(v is w for w in model.trainable_weights)
                                              for v in gru)
    before = [v.numpy().copy() for v in gru]
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    trained = tracked and all(not np.array_equal(a, v.numpy()) for a, v in zip(before, gru))
    return history.history["loss"], model.predict(x, verbose=0).tolist(), trained


strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    mirrored = fit(1.0)
    mirrored_dropout = fit(0.5)
result = {"replicas": strategy.num_replicas_in_sync, "mirrored": mirrored,
          "mirrored_dropout": mirrored_dropout, "single": fit(1.0),
          "patched": tf_rnn_dropout_fix.is_patched()}
print("RESULT " + json.dumps(result))
"""


@pytest.mark.skipif(TF_VERSION < (2, 0), reason="tf.distribute.MirroredStrategy with Keras fit is "
                    "TF 2.x; TF 1.x placement is the replica_device_setter test")
def test_mirrored_strategy_over_two_cpus_fits_a_keras_model_with_a_wrapped_gru():
    # The compat.v1 GRUCell has four variables (gates and candidate, kernel and bias each), the
    # Keras GRUCell three (kernel, recurrent kernel, bias).
    cell, weights = (_CELL_FROM_TF_2_2, 4) if TF_VERSION >= (2, 2) else (_CELL_ON_TF_2_0, 3)
    rc, out, err = run_python(_MIRRORED % {"cell": cell, "weights": weights})
    assert rc == 0, err[-3000:]
    result = json.loads(out.split("RESULT ", 1)[1])
    assert result["replicas"] == 2 and result["patched"] is True
    mirrored_loss, mirrored_predictions, mirrored_trained = result["mirrored"]
    single_loss, single_predictions, single_trained = result["single"]
    dropout_loss, dropout_predictions, dropout_trained = result["mirrored_dropout"]
    # The GRU's variables are the model's and fit changes them, under the strategy too.
    assert mirrored_trained and dropout_trained and single_trained
    for values in (mirrored_loss, mirrored_predictions, dropout_loss, dropout_predictions):
        assert np.all(np.isfinite(values))
    np.testing.assert_allclose(mirrored_loss, single_loss, rtol=1e-5)
    np.testing.assert_allclose(mirrored_predictions, single_predictions, rtol=1e-5, atol=1e-6)
    assert not np.allclose(dropout_loss, mirrored_loss)

"""A real TF1 cluster on 127.0.0.1: one ``tf.train.Server`` ps and two workers (DESIGN 3.6).

Between-graph replication: each worker process builds the corrected GRU under
``replica_device_setter`` and trains it through ``MonitoredTrainingSession`` (the chief writes
the checkpoint).  The cluster runs once per module; the tests then read what each process
reported.  Ports are picked by binding port 0 (the whole cluster is retried on a collision),
every wait has a deadline, and every process is killed in ``finally``.
"""
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import tf_rnn_dropout_fix as fix
from conftest import V1

START_TRIES, DEADLINE_S = 3, 240
LOCAL_STEPS = 4

# The model, shared by the workers and by the stock graph that restores the chief's checkpoint.
MODEL = """
import numpy as np
import tensorflow as tf
V1 = tf.compat.v1 if hasattr(tf, "compat") and hasattr(tf.compat, "v1") else tf


def build(keep=0.8):
    global_step = V1.train.get_or_create_global_step()
    x = tf.constant(np.random.RandomState(0).randn(4, 200, 3).astype(np.float32))
    y = tf.constant(np.random.RandomState(1).randn(4, 1).astype(np.float32))
    cell = V1.nn.rnn_cell.DropoutWrapper(
        V1.nn.rnn_cell.GRUCell(6, bias_initializer=V1.constant_initializer(3.0)),
        state_keep_prob=keep, variational_recurrent=True, dtype=tf.float32, seed=5)
    outputs, _ = V1.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    loss = tf.reduce_mean(tf.square(V1.layers.dense(outputs[:, -1], 1) - y))
    train = V1.train.GradientDescentOptimizer(0.05).minimize(loss, global_step=global_step)
    return loss, train
"""

WORKER = MODEL + """
import json, os, sys, time
import tf_rnn_dropout_fix
if hasattr(V1, "disable_eager_execution"):
    V1.disable_eager_execution()
role, index, hosts, checkpoint_dir, ready = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
spec = V1.train.ClusterSpec({"ps": hosts[:1], "worker": hosts[1:]})
server = V1.train.Server(spec, job_name=role, task_index=index)
if role == "ps":
    print("STARTED")
    sys.stdout.flush()
    server.join()
chief = index == 0
if not chief:                     # join once the chief has initialised: no 30 s recovery wait
    deadline = time.time() + 120
    while not os.path.exists(ready) and time.time() < deadline:
        time.sleep(0.2)
with V1.device(V1.train.replica_device_setter(
        worker_device="/job:worker/task:%d" % index, cluster=spec)):
    loss, train = build()
devices = {v.op.name: v.device for v in V1.global_variables()}
losses = []
with V1.train.MonitoredTrainingSession(master=server.target, is_chief=chief,
                                       checkpoint_dir=checkpoint_dir if chief else None,
                                       save_summaries_steps=None, save_checkpoint_secs=3600
                                       ) as session:
    if chief:
        open(ready, "w").close()
    for _ in range(%(steps)d):
        losses.append(float(session.run([loss, train])[0]))
    if chief:                     # keep the chief (and its checkpoint hook) until the worker ran
        deadline = time.time() + 120
        while not os.path.exists(ready + ".done") and time.time() < deadline:
            time.sleep(0.2)
    else:
        open(ready + ".done", "w").close()
print("RESULT " + json.dumps({"losses": losses, "devices": devices,
                              "patched": tf_rnn_dropout_fix.is_patched()}))
""".replace("%(steps)d", str(LOCAL_STEPS))


def _free_ports(count):
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _wait(processes, deadline):
    """Wait for every process to exit before ``deadline``; False if one is still running."""
    while time.time() < deadline:
        if all(p.poll() is not None for p in processes):
            return True
        time.sleep(0.2)
    return False


def _run_cluster(root):
    hosts = ["127.0.0.1:%d" % port for port in _free_ports(3)]
    checkpoint_dir, ready = str(root / "chief"), str(root / "ready")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    logs, processes = [], []
    try:
        for role, index in (("ps", 0), ("worker", 0), ("worker", 1)):
            log = open(str(root / ("%s%d.log" % (role, index))), "w+")
            logs.append(log)
            processes.append(subprocess.Popen(
                [sys.executable, "-c", WORKER, role, str(index), json.dumps(hosts),
                 checkpoint_dir, ready], stdout=log, stderr=subprocess.STDOUT, env=env))
        finished = _wait(processes[1:], time.time() + DEADLINE_S)
        outputs = []
        for log in logs:
            log.seek(0)
            outputs.append(log.read())
        return finished, [p.returncode for p in processes[1:]], outputs, checkpoint_dir
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    for attempt in range(START_TRIES):
        root = tmp_path_factory.mktemp("cluster%d" % attempt)
        finished, codes, outputs, checkpoint_dir = _run_cluster(root)
        collided = any("address already in use" in out.lower() for out in outputs)
        if not collided:
            break
    assert finished, "the cluster ran past %d s:\n%s" % (DEADLINE_S, outputs[-1][-3000:])
    assert codes == [0, 0], "\n".join(out[-3000:] for out in outputs)
    results = [json.loads(out.split("RESULT ", 1)[1].splitlines()[0]) for out in outputs[1:]]
    return results, checkpoint_dir


def test_the_corrected_gru_trains_finite_on_both_workers(cluster):
    results, _ = cluster
    for result in results:
        assert result["patched"] is True
        assert len(result["losses"]) == LOCAL_STEPS and np.all(np.isfinite(result["losses"]))


def test_every_variable_lives_on_the_ps(cluster):
    results, _ = cluster
    for result in results:
        devices = result["devices"]
        assert any("gru_cell" in name for name in devices)
        assert devices and all("/job:ps" in device for device in devices.values()), devices


def test_the_chiefs_checkpoint_restores_into_a_stock_single_process_graph(cluster):
    _, checkpoint_dir = cluster
    path = V1.train.latest_checkpoint(checkpoint_dir)
    assert path is not None
    namespace = {}
    exec(MODEL, namespace)
    import tensorflow as tf
    graph = tf.Graph()
    with graph.as_default(), fix.disabled():
        loss, _ = namespace["build"]()
        model = {v.op.name: v for v in V1.global_variables()
                 if "GradientDescent" not in v.op.name}
        saved = V1.train.NewCheckpointReader(path).get_variable_to_shape_map()
        assert sorted(model) == sorted(saved)
        with V1.Session(graph=graph) as session:
            V1.train.Saver(list(model.values())).restore(session, path)
            assert session.run(V1.train.get_global_step()) >= LOCAL_STEPS
            kernel = [v for name, v in model.items() if name.endswith("gates/kernel")
                      or name.endswith("gates/weights")][0]
            np.testing.assert_array_equal(session.run(kernel),
                                          V1.train.NewCheckpointReader(path).get_tensor(
                                              kernel.op.name))

"""Shared helpers: TF1-style graphs on every TF version, deterministic weights, NumPy reference.

Every test runs against the real TensorFlow of its tox environment.  Graph-mode code uses
``tf.compat.v1`` where it exists (TF >= 1.13) and plain ``tf`` on older releases.
"""
import os
import sys
import warnings

if sys.version_info[0] == 2:
    import subprocess32 as subprocess     # Python 3's subprocess.run, with its timeout
else:
    import subprocess

import numpy as np
import pytest

import tf_rnn_dropout_fix as fix
import tensorflow as tf

V1 = tf.compat.v1 if hasattr(tf, "compat") and hasattr(tf.compat, "v1") else tf
TF_VERSION = tuple(int(p) for p in fix._compat.parse_version(fix._compat.tf_version_string(tf)))
RNN_CELL = V1.nn.rnn_cell
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))     # the checkout
# For a fresh interpreter (``run_python``) that imports a test module: this directory first.
TESTS_IMPORTABLE = {"PYTHONPATH": os.pathsep.join(
    [os.path.dirname(os.path.abspath(__file__))]
    + os.environ.get("PYTHONPATH", "").split(os.pathsep))}


def _stock_v2_wrapper_refuses_keras_lstm():
    """TF 2.0 - 2.5's own tf.nn.RNNCellDropoutWrapper refuses a tf.keras LSTMCell at construction
    ("keras LSTM cell does not work with DropoutWrapper", tensorflow/tensorflow#33690), because
    stock state dropout would drop its memory; the corrected wrapper accepts it."""
    if not hasattr(tf.nn, "RNNCellDropoutWrapper"):
        return False
    with fix.disabled():
        try:
            tf.nn.RNNCellDropoutWrapper(tf.keras.layers.LSTMCell(1))
        except ValueError as exc:
            return "does not work with DropoutWrapper" in str(exc)
    return False


KERAS_LSTM_REFUSED = _stock_v2_wrapper_refuses_keras_lstm()
KERAS_LSTM_REFUSED_REASON = ("stock TF %s refuses a Keras LSTMCell in tf.nn.RNNCellDropoutWrapper"
                             % tf.__version__)


def contrib(path):
    """``tf.contrib.<path>``, or None where this TF release does not have it."""
    value = tf
    for name in ("contrib." + path).split("."):
        value = getattr(value, name, None)
        if value is None:
            return None
    return value


def seeded_weights(session, seed=0, scale=0.5):
    """Give every kernel the same values in every graph (Keras 2 initialisers are unseeded).

    Biases keep their constant stock initialisers (GRU gates 1.0, everything else 0).
    """
    rng = np.random.RandomState(seed)
    for variable in sorted(V1.global_variables(), key=lambda v: v.name):
        if "kernel" in variable.name or "weights" in variable.name:
            shape = variable.get_shape().as_list()
            variable.load(rng.uniform(-scale, scale, shape).astype(np.float32), session)


def variables_by_suffix():
    return {v.name.split("/", 1)[-1]: v for v in V1.global_variables()}


class Run(object):
    """One graph: DropoutWrapper(cell) over random inputs with dynamic_rnn, and a train op.

    ``keep`` is the state keep probability, or a callable that builds it (a placeholder) inside
    this run's graph.  ``dtype`` is that of the inputs, the cell and the variational noise;
    ``sequence_length`` goes to ``dynamic_rnn``; ``device`` (a name or a device function such as
    ``replica_device_setter``) places the graph, ``session_config`` configures its session.
    """

    def __init__(self, make_cell, steps=20, batch=4, depth=8, stock=False, keep=0.8,
                 variational=True, seed=7, wrapper=None, parallel_iterations=None,
                 dtype=tf.float32, sequence_length=None, device=None, session_config=None,
                 **wrapper_kwargs):
        self.graph = tf.Graph()
        with self.graph.as_default(), self.graph.device(device):
            V1.set_random_seed(1)
            self.inputs = tf.constant(
                np.random.RandomState(2).randn(batch, steps, depth).astype(dtype.as_numpy_dtype))
            self.keep = keep() if callable(keep) else keep    # a callable builds a tensor here
            keep = self.keep
            wrapper = wrapper or RNN_CELL.DropoutWrapper
            kwargs = dict(state_keep_prob=keep, variational_recurrent=variational, seed=seed)
            if variational:
                kwargs["dtype"] = dtype
            kwargs.update(wrapper_kwargs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if stock:
                    with fix.disabled():
                        self.cell = wrapper(make_cell(), **kwargs)
                else:
                    self.cell = wrapper(make_cell(), **kwargs)
                self.outputs, self.state = V1.nn.dynamic_rnn(
                    self.cell, self.inputs, dtype=dtype, sequence_length=sequence_length,
                    parallel_iterations=parallel_iterations)
            self.loss = tf.reduce_mean(tf.square(self.outputs))
            self.train = V1.train.GradientDescentOptimizer(0.1).minimize(self.loss)
            self.session = V1.Session(graph=self.graph, config=session_config)
            self.session.run(V1.global_variables_initializer())
            seeded_weights(self.session)

    def run(self, fetches, feed=None):
        return self.session.run(fetches, feed_dict=feed)

    def variables(self):
        with self.graph.as_default():
            return sorted((v.name, tuple(v.get_shape().as_list())) for v in V1.global_variables()
                          if "GradientDescent" not in v.name)

    def close(self):
        self.session.close()


@pytest.fixture
def make_run():
    runs = []

    def factory(*args, **kwargs):
        run = Run(*args, **kwargs)
        runs.append(run)
        return run
    yield factory
    for run in runs:
        run.close()


@pytest.fixture(autouse=True)
def patched_default():
    """Each test starts patched with the default policy and no stray environment settings."""
    saved = {k: os.environ.pop(k) for k in ("TF_RNN_DROPOUT_FIX_GRU_POLICY",) if k in os.environ}
    fix.patch()
    yield
    os.environ.update(saved)
    fix._config.set_code_policy(None)
    fix.patch()


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# Python source for a fresh interpreter: two logical CPUs, set before TF starts its runtime.
TWO_LOGICAL_CPUS = """
import tensorflow as tf
if hasattr(tf.config, "list_physical_devices"):
    config, split = tf.config, tf.config.set_logical_device_configuration
    device = tf.config.LogicalDeviceConfiguration
else:                                                 # TF 2.0: the experimental names
    config = tf.config.experimental
    split, device = config.set_virtual_device_configuration, config.VirtualDeviceConfiguration
split(config.list_physical_devices("CPU")[0], [device()] * 2)
"""


def run_command(argv, env=None, timeout=300, cwd=None):
    """Run ``argv`` (in ``cwd``) with ``env`` added to this environment; returns
    (rc, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                          timeout=timeout, universal_newlines=True, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def run_python(code, env=None, timeout=300, args=()):
    """Run ``code`` (with ``args``) in a fresh interpreter of this environment; returns
    (rc, stdout, stderr).

    ``print`` in ``code`` is the function on every Python (2.7 included).
    """
    code = "from __future__ import print_function\n" + code
    return run_command([sys.executable, "-c", code] + list(args), env, timeout)

"""Gate dropout (DESIGN 3.4): Semeniuta et al. 2016, candidate dropout without memory loss.

Reference equations, written from the paper in NumPy (TF's gate layouts: LSTM [i, j, f, o] with
``forget_bias``, GRU [r, u]; Keras LSTM [i, f, c, o], Keras GRU [z, r, hh]):
    LSTM  c' = sigmoid(f + forget_bias)*c + sigmoid(i)*d(tanh(j));  h' = sigmoid(o)*tanh(c')
    GRU   h' = u*h + (1-u)*d(c~)
The mask of ``d`` is random, so each step is checked by recovering it from TF's own states:
it must be 0 or 1/keep per unit (inverted dropout), everything else must match the equations,
it must differ between examples, and be constant over one sequence's steps exactly when
``variational_recurrent=True``.
"""
import warnings

import numpy as np
import pytest

import tensorflow as tf
import tf_rnn_dropout_fix as fix
from conftest import (RNN_CELL, TF_VERSION, V1, contrib,
                      seeded_weights, sigmoid)

UNITS, DEPTH, BATCH = 5, 4, 6
KERAS = getattr(tf, "keras", None) if TF_VERSION >= (2, 0) else None


class Unrolled(object):
    """The wrapped cell called step by step in one graph, so every intermediate state is fetched."""

    def __init__(self, make_cell, steps=6, gate_keep_prob=0.5, variational=True, stock=False,
                 seed=3, wrapper=None, **wrapper_kwargs):
        wrapper_class = wrapper or RNN_CELL.DropoutWrapper
        self.graph = tf.Graph()
        with self.graph.as_default():
            V1.set_random_seed(11)
            rng = np.random.RandomState(5)
            self.inputs = rng.randn(BATCH, steps, DEPTH).astype(np.float32)
            self.cell = make_cell()
            if callable(gate_keep_prob):          # builds a tensor in this graph
                gate_keep_prob = gate_keep_prob()
            self.gate_keep_prob = gate_keep_prob
            kwargs = dict(variational_recurrent=variational, seed=seed, dtype=tf.float32)
            kwargs.update(wrapper_kwargs)
            if not stock:
                kwargs["gate_keep_prob"] = gate_keep_prob
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if stock:
                    with fix.disabled():
                        wrapper = wrapper_class(self.cell, **kwargs)
                else:
                    wrapper = wrapper_class(self.cell, **kwargs)
                if hasattr(self.cell, "zero_state"):
                    state = wrapper.zero_state(BATCH, tf.float32)
                else:       # a Keras cell, its state a list as keras.layers.RNN passes it
                    state = tf.nest.flatten(
                        wrapper.get_initial_state(batch_size=BATCH, dtype=tf.float32))
                self.states = [state]
                self.outputs = []
                with V1.variable_scope("rnn") as scope:
                    for t in range(steps):
                        if t:
                            scope.reuse_variables()
                        output, state = wrapper(tf.constant(self.inputs[:, t]), state)
                        self.outputs.append(output)
                        self.states.append(state)
            self.session = V1.Session(graph=self.graph)
            self.session.run(V1.global_variables_initializer())
            seeded_weights(self.session)
            self.variables = {v.name.split("/", 1)[-1]: v for v in V1.global_variables()}

    def fetch(self, fetches):
        return self.session.run(fetches)

    def variable(self, suffix):
        matches = [v for name, v in self.variables.items() if name.endswith(suffix)]
        assert len(matches) == 1, (suffix, sorted(self.variables))
        return self.fetch(matches[0]).astype(np.float64)


def _lstm_masks(run):
    """Per step (c, h from TF), recover the gate mask and check everything else against NumPy."""
    kernel, bias = run.variable("kernel:0"), run.variable("bias:0")
    states = run.fetch(run.states)
    masks = []
    for t in range(len(states) - 1):
        c, h = [np.asarray(s, np.float64) for s in states[t]]
        new_c, new_h = [np.asarray(s, np.float64) for s in states[t + 1]]
        z = np.concatenate([run.inputs[:, t], h], 1).dot(kernel) + bias
        i, j, f, o = np.split(z, 4, 1)
        kept = sigmoid(f + 1.0) * c                       # forget_bias 1.0, the default
        candidate = sigmoid(i) * np.tanh(j)
        masks.append((new_c - kept) / candidate)
        np.testing.assert_allclose(new_h, sigmoid(o) * np.tanh(new_c), rtol=1e-4, atol=1e-5)
    return np.stack(masks)


def _gru_masks(run):
    gate_kernel, gate_bias = run.variable("gates/kernel:0"), run.variable("gates/bias:0")
    cand_kernel, cand_bias = run.variable("candidate/kernel:0"), run.variable("candidate/bias:0")
    states = [np.asarray(s, np.float64) for s in run.fetch(run.states)]
    masks = []
    for t in range(len(states) - 1):
        h, new_h = states[t], states[t + 1]
        x = run.inputs[:, t]
        r, u = np.split(sigmoid(np.concatenate([x, h], 1).dot(gate_kernel) + gate_bias), 2, 1)
        candidate = np.tanh(np.concatenate([x, r * h], 1).dot(cand_kernel) + cand_bias)
        masks.append((new_h - u * h) / ((1 - u) * candidate))
    return np.stack(masks)


def _check_inverted_dropout(masks, keep):
    """Every recovered mask value is 0 or 1/keep; both occur; examples differ."""
    is_zero = np.isclose(masks, 0.0, atol=1e-3)
    is_scaled = np.isclose(masks, 1.0 / keep, rtol=1e-3)
    assert np.all(is_zero | is_scaled), masks
    assert is_zero.any() and is_scaled.any()
    assert any(not np.array_equal(is_zero[:, 0], is_zero[:, b]) for b in range(1, BATCH))
    return is_zero


FAMILIES = {
    "LSTMCell": (lambda: RNN_CELL.LSTMCell(UNITS), _lstm_masks),
    "BasicLSTMCell": (lambda: RNN_CELL.BasicLSTMCell(UNITS), _lstm_masks),
    "GRUCell": (lambda: RNN_CELL.GRUCell(UNITS), _gru_masks),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("variational", [True, False])
def test_candidate_dropout_matches_the_reference_step(family, variational):
    make_cell, recover = FAMILIES[family]
    run = Unrolled(make_cell, gate_keep_prob=0.5, variational=variational)
    dropped = _check_inverted_dropout(recover(run), 0.5)
    same_every_step = all(np.array_equal(dropped[0], dropped[t]) for t in range(len(dropped)))
    assert same_every_step == variational
    if variational:     # a new mask per Session.run: per sequence, not frozen in the graph
        assert not np.array_equal(dropped[0], _check_inverted_dropout(recover(run), 0.5)[0])


class DynamicGRU(Unrolled):
    """A GRU wrapped with variational gate dropout run by ``dynamic_rnn``: its time loop is a
    ``while`` loop, whose body the sequence's gate seed must stay out of."""

    def __init__(self, steps=6):
        self.graph = tf.Graph()
        with self.graph.as_default():
            V1.set_random_seed(11)
            self.inputs = np.random.RandomState(5).randn(BATCH, steps, DEPTH).astype(np.float32)
            wrapper = RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(UNITS), gate_keep_prob=0.5,
                                              variational_recurrent=True, seed=3,
                                              dtype=tf.float32)
            outputs, _ = V1.nn.dynamic_rnn(wrapper, tf.constant(self.inputs), dtype=tf.float32)
            self.states = [tf.zeros([BATCH, UNITS])] + [outputs[:, t] for t in range(steps)]
            self.session = V1.Session(graph=self.graph)
            self.session.run(V1.global_variables_initializer())
            seeded_weights(self.session)
            self.variables = {v.name.split("/", 1)[-1]: v for v in V1.global_variables()}


def test_variational_gate_dropout_in_dynamic_rnn_keeps_one_mask_per_sequence():
    run = DynamicGRU()
    dropped = _check_inverted_dropout(_gru_masks(run), 0.5)
    assert all(np.array_equal(dropped[0], dropped[t]) for t in range(len(dropped)))
    assert not np.array_equal(dropped[0], _check_inverted_dropout(_gru_masks(run), 0.5)[0])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_keep_close_to_zero_leaves_only_the_carried_memory(family):
    """LSTM c' = f*c, GRU h' = u*h: the candidate is gone, the memory is not."""
    make_cell, recover = FAMILIES[family]
    for variational in (True, False):
        masks = recover(Unrolled(make_cell, gate_keep_prob=1e-6, variational=variational))
        np.testing.assert_allclose(masks, 0.0, atol=1e-6)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_gate_keep_one_is_exactly_stock(family):
    make_cell = FAMILIES[family][0]
    stock = Unrolled(make_cell, stock=True, output_keep_prob=0.7)
    fixed = Unrolled(make_cell, gate_keep_prob=1.0, output_keep_prob=0.7)
    assert fixed.variables.keys() == stock.variables.keys()
    for a, b in zip(stock.fetch(stock.outputs), fixed.fetch(fixed.outputs)):
        np.testing.assert_array_equal(a, b)


def test_gate_keep_prob_as_a_placeholder_fed_one_at_eval_is_stock():
    stock = Unrolled(lambda: RNN_CELL.LSTMCell(UNITS), stock=True)
    fixed = Unrolled(lambda: RNN_CELL.LSTMCell(UNITS), gate_keep_prob=lambda: (
        V1.placeholder_with_default(tf.constant(1.0), [])))
    np.testing.assert_array_equal(stock.fetch(stock.outputs), fixed.fetch(fixed.outputs))
    train = fixed.session.run(fixed.states, {fixed.gate_keep_prob: 0.5})
    assert not np.allclose(train[-1][0], fixed.fetch(fixed.states)[-1][0])


def test_projection_and_peepholes_keep_their_variables_and_stay_finite():
    def make_cell():
        return RNN_CELL.LSTMCell(UNITS, use_peepholes=True, num_proj=3, cell_clip=10.0)
    stock = Unrolled(make_cell, steps=3, stock=True)
    fixed = Unrolled(make_cell, steps=3, gate_keep_prob=0.5)
    assert sorted(stock.variables) == sorted(fixed.variables)
    assert all(np.all(np.isfinite(o)) for o in fixed.fetch(fixed.outputs))


def _keras_lstm_masks(run):
    kernel, recurrent = run.variable("/kernel:0"), run.variable("/recurrent_kernel:0")
    bias = run.variable("/bias:0")
    states = run.fetch(run.states)
    masks = []
    for t in range(len(states) - 1):
        h, c = [np.asarray(s, np.float64) for s in states[t]]
        new_h, new_c = [np.asarray(s, np.float64) for s in states[t + 1]]
        z = run.inputs[:, t].dot(kernel) + h.dot(recurrent) + bias
        i, f, g, o = np.split(z, 4, 1)                  # Keras order [i, f, c, o]
        masks.append((new_c - sigmoid(f) * c) / (sigmoid(i) * np.tanh(g)))
        np.testing.assert_allclose(new_h, sigmoid(o) * np.tanh(new_c), rtol=1e-4, atol=1e-5)
    return np.stack(masks)


def _keras_gru_masks(run):
    """Keras GRU, reset_after=True (the TF 2 default): [z, r, hh], biases [input, recurrent]."""
    kernel, recurrent = run.variable("/kernel:0"), run.variable("/recurrent_kernel:0")
    input_bias, recurrent_bias = run.variable("/bias:0")
    states = [np.asarray(s[0] if isinstance(s, (list, tuple)) else s, np.float64)
              for s in run.fetch(run.states)]
    masks = []
    for t in range(len(states) - 1):
        h, new_h = states[t], states[t + 1]
        x_z, x_r, x_h = np.split(run.inputs[:, t].dot(kernel) + input_bias, 3, 1)
        h_z, h_r, h_h = np.split(h.dot(recurrent) + recurrent_bias, 3, 1)
        z, r = sigmoid(x_z + h_z), sigmoid(x_r + h_r)
        masks.append((new_h - z * h) / ((1 - z) * np.tanh(x_h + r * h_h)))
    return np.stack(masks)


KERAS_FAMILIES = {
    "LSTMCell": ("LSTMCell", _keras_lstm_masks),
    "GRUCell": ("GRUCell", _keras_gru_masks),
}


@pytest.mark.skipif(KERAS is None, reason="Keras cells in a DropoutWrapper need TF 2.x")
@pytest.mark.parametrize("family", sorted(KERAS_FAMILIES))
@pytest.mark.parametrize("variational", [True, False])
def test_keras_cells_candidate_dropout_matches_the_reference_step(family, variational):
    name, recover = KERAS_FAMILIES[family]
    run = Unrolled(lambda: getattr(KERAS.layers, name)(UNITS), gate_keep_prob=0.5,
                   variational=variational, wrapper=tf.nn.RNNCellDropoutWrapper)
    dropped = _check_inverted_dropout(recover(run), 0.5)
    same_every_step = all(np.array_equal(dropped[0], dropped[t]) for t in range(len(dropped)))
    assert same_every_step == variational


@pytest.mark.skipif(KERAS is None, reason="Keras cells in a DropoutWrapper need TF 2.x")
@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell"])
def test_keras_rnn_layer_with_gate_dropout_trains_eagerly(name):
    cell = tf.nn.RNNCellDropoutWrapper(getattr(KERAS.layers, name)(UNITS), gate_keep_prob=0.5,
                                       output_keep_prob=0.9)
    model = KERAS.Sequential([KERAS.layers.RNN(cell, return_sequences=True,
                                               input_shape=(7, DEPTH)),
                              KERAS.layers.Dense(1)])
    model.compile(KERAS.optimizers.SGD(0.05), "mse")
    rng = np.random.RandomState(0)
    x = rng.randn(8, 7, DEPTH).astype(np.float32)
    history = model.fit(x, np.cumsum(x[..., :1], 1) / 7, epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert np.all(np.isfinite(model.predict(x, verbose=0)))


@pytest.mark.parametrize("make_cell", [lambda: RNN_CELL.LSTMCell(8),
                                       lambda: RNN_CELL.GRUCell(8)], ids=["LSTM", "GRU"])
def test_a_thousand_step_sequence_trains_finite_with_gate_and_state_dropout(make_run, make_cell):
    run = make_run(make_cell, steps=1000, batch=4, depth=3, keep=0.8, gate_keep_prob=0.5,
                   output_keep_prob=0.9)
    losses = [run.run([run.loss, run.train])[0] for _ in range(15)]
    outputs = run.run(run.outputs)
    assert np.all(np.isfinite(losses)) and np.all(np.isfinite(outputs))
    # A GRU's h is a convex mix of h and d(c~), |d(c~)| <= 1/gate_keep; then output dropout.
    assert np.max(np.abs(outputs)) <= 1.0 / (0.5 * 0.9) + 1e-6


@pytest.mark.parametrize("value, error, words", [
    (0.0, ValueError, "outside (0, 1]"),
    (1.5, ValueError, "outside (0, 1]"),
    (float("nan"), ValueError, "outside (0, 1]"),
    ("0.5", TypeError, "not a keep probability"),
    (None, TypeError, "not a keep probability"),
])
def test_bad_gate_keep_prob_is_named_with_the_fix(value, error, words):
    with pytest.raises(error) as caught:
        RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(UNITS), gate_keep_prob=value)
    message = str(caught.value)
    assert "gate_keep_prob" in message and words in message and "e.g. gate_keep_prob=0.8" in message


def test_gate_dropout_on_a_cell_without_a_candidate_is_refused_at_construction():
    with pytest.raises(ValueError) as caught:
        RNN_CELL.DropoutWrapper(RNN_CELL.BasicRNNCell(UNITS), gate_keep_prob=0.5)
    assert "gate_keep_prob cannot apply to BasicRNNCell" in str(caught.value)
    assert "state_keep_prob or output_keep_prob" in str(caught.value)
    stack = RNN_CELL.MultiRNNCell([RNN_CELL.GRUCell(UNITS), RNN_CELL.BasicRNNCell(UNITS)])
    with pytest.raises(ValueError, match="BasicRNNCell"):
        RNN_CELL.DropoutWrapper(stack, gate_keep_prob=0.5)


def test_gate_keep_prob_inside_disabled_is_refused_not_ignored():
    with fix.disabled():
        with pytest.raises(ValueError, match="gate_keep_prob=0.5 needs tf_rnn_dropout_fix"):
            RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(UNITS), gate_keep_prob=0.5)
        RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(UNITS), gate_keep_prob=1.0)


def test_gate_dropout_reaches_every_cell_of_a_stack(make_run):
    def stack():
        return RNN_CELL.MultiRNNCell([RNN_CELL.LSTMCell(UNITS), RNN_CELL.GRUCell(UNITS)])
    stock = make_run(stack, steps=30, keep=1.0, stock=True, parallel_iterations=1)
    fixed = make_run(stack, steps=30, keep=1.0, gate_keep_prob=1e-6, parallel_iterations=1)
    assert stock.variables() == fixed.variables()
    lstm_state, gru_state = fixed.run(fixed.state)
    # keep ~0: no candidate ever enters, so from a zero state nothing ever leaves zero.
    np.testing.assert_array_equal(lstm_state.c, 0.0)
    np.testing.assert_array_equal(gru_state, 0.0)
    assert np.any(stock.run(stock.state)[1] != 0.0)


def _contrib_cell(path):
    value = contrib(path)
    if value is None:
        pytest.skip("TF %s has no tf.contrib.%s" % (tf.__version__, path))
    from tf_rnn_dropout_fix import _gate
    if not _gate.has_python_step(value(UNITS)):
        pytest.skip("TF %s's %s has no Python step for gate dropout (refused at "
                    "construction)" % (tf.__version__, path))
    return lambda: value(UNITS)


class _ByAttribute(object):
    """Read a block cell's variables from its attributes (their names vary by release)."""

    def __init__(self, run, names):
        self.run, self.names = run, names

    def variable(self, suffix):
        return self.run.fetch(getattr(self.run.cell, self.names[suffix])).astype(np.float64)

    def __getattr__(self, name):
        return getattr(self.run, name)


BLOCK_FAMILIES = {
    "LSTMBlockCell": ("rnn.LSTMBlockCell", _lstm_masks,
                      {"kernel:0": "_kernel", "bias:0": "_bias"}),
    "GRUBlockCell": ("rnn.GRUBlockCell", _gru_masks,
                     {"gates/kernel:0": "_gate_kernel", "gates/bias:0": "_gate_bias",
                      "candidate/kernel:0": "_candidate_kernel",
                      "candidate/bias:0": "_candidate_bias"}),
    "GRUBlockCellV2": ("rnn.GRUBlockCellV2", _gru_masks,
                       {"gates/kernel:0": "_gate_kernel", "gates/bias:0": "_gate_bias",
                        "candidate/kernel:0": "_candidate_kernel",
                        "candidate/bias:0": "_candidate_bias"}),
}


@pytest.mark.skipif(TF_VERSION >= (2, 0), reason="tf.contrib exists in TF 1.x only")
@pytest.mark.parametrize("family", sorted(BLOCK_FAMILIES))
@pytest.mark.parametrize("variational", [True, False])
def test_contrib_block_cells_candidate_dropout_matches_the_reference_step(family, variational):
    path, recover, names = BLOCK_FAMILIES[family]
    run = Unrolled(_contrib_cell(path), gate_keep_prob=0.5, variational=variational)
    dropped = _check_inverted_dropout(recover(_ByAttribute(run, names)), 0.5)
    same_every_step = all(np.array_equal(dropped[0], dropped[t]) for t in range(len(dropped)))
    assert same_every_step == variational


@pytest.mark.skipif(TF_VERSION >= (2, 0), reason="tf.contrib exists in TF 1.x only")
@pytest.mark.parametrize("family", sorted(BLOCK_FAMILIES))
def test_contrib_block_cells_gate_keep_one_is_the_fused_kernel(family):
    make_cell = _contrib_cell(BLOCK_FAMILIES[family][0])
    stock = Unrolled(make_cell, stock=True, output_keep_prob=0.7)
    fixed = Unrolled(make_cell, gate_keep_prob=1.0, output_keep_prob=0.7)
    for a, b in zip(stock.fetch(stock.outputs), fixed.fetch(fixed.outputs)):
        np.testing.assert_array_equal(a, b)

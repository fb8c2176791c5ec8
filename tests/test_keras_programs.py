"""Keras programs end to end (DESIGN 3.5, 3.8): ``training``, masks per call, the wrapped cell trained.

Stock, measured on TF 2.11 and 2.21 (tf_keras):
* the wrapper ignores ``training``: ``predict`` drops units (its predictions are not those of
  the same weights at keep 1), and with a mask per call two ``predict`` calls differ;
* a decoder ``keras.layers.RNN(wrapper)(x, initial_state=state)`` never asks the wrapper for
  its initial state, so one variational mask served every batch and every call;
* the compat.v1 wrapper (a legacy ``tf.layers`` layer) hides its compat.v1 cell from Keras:
  the GRU's variables are not in ``trainable_weights`` and ``fit`` never changes them.
"""
import json
import warnings

import numpy as np
import pytest

import tensorflow as tf
import tf_rnn_dropout_fix as fix
from conftest import TESTS_IMPORTABLE, TF_VERSION, V1, run_python

pytestmark = pytest.mark.skipif(TF_VERSION < (2, 2), reason="keras.layers.RNN drives the "
                                "compat.v1 wrapper from TF 2.2 (call() arity on 2.0 - 2.1)")
KERAS = tf.keras if TF_VERSION >= (2, 0) else None
STEPS, DEPTH, UNITS = 6, 3, 8


def _data(batch=16):
    x = np.random.RandomState(0).randn(batch, STEPS, DEPTH).astype(np.float32)
    return x, np.cumsum(x[..., :1], 1)[:, -1] / STEPS


def _wrapper(kind, keep, stock=False):
    """The two ways Keras programs meet the wrapper, with input, state and output dropout."""
    if kind == "v2":
        cell, wrap = KERAS.layers.GRUCell(UNITS), tf.nn.RNNCellDropoutWrapper
    else:
        cell, wrap = V1.nn.rnn_cell.GRUCell(UNITS), V1.nn.rnn_cell.DropoutWrapper
    kwargs = dict(input_keep_prob=keep, state_keep_prob=keep, output_keep_prob=keep, seed=4,
                  variational_recurrent=True, input_size=DEPTH, dtype=tf.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if stock:
            kwargs.pop("state_keep_prob")        # stock state dropout would blow the GRU up
            with fix.disabled():
                return wrap(cell, **kwargs)
        return wrap(cell, **kwargs)


def _model(wrapper):
    model = KERAS.Sequential([KERAS.layers.InputLayer(input_shape=(STEPS, DEPTH)),
                              KERAS.layers.RNN(wrapper), KERAS.layers.Dense(1)])
    model.compile(KERAS.optimizers.SGD(0.1), "mse")
    return model


def _copy_weights(source, target):
    """The model's weights and the wrapped cell's (stock Keras does not see a compat.v1 cell's)."""
    target.set_weights(source.get_weights())
    target.layers[0].cell.cell.set_weights(source.layers[0].cell.cell.get_weights())


def _eager_call(model, x, **kwargs):
    """``model(x)`` as an array; None where Keras gives no array for a model holding a legacy
    ``tf.layers`` layer, with or without the package: TF 2.3 returns a graph tensor, and TF 2.4
    raises that a graph tensor left the function it was built in."""
    try:
        outputs = model(x, **kwargs)
    except TypeError as error:
        if '"Graph" tensor' not in str(error):
            raise
        return None
    return outputs.numpy() if hasattr(outputs, "numpy") else None


def _fit_one_batch(model, x, y):
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    return [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize("kind", ["v2", "compat.v1"])
def test_inference_does_not_drop_and_equals_a_keep_one_twin_while_fit_drops(kind):
    x, y = _data()
    stock = _model(_wrapper(kind, 0.7, stock=True))
    stock_twin = _model(_wrapper(kind, 1.0, stock=True))
    _copy_weights(stock, stock_twin)                   # stock drops at inference too
    assert not np.allclose(stock.predict(x, verbose=0), stock_twin.predict(x, verbose=0))

    model, twin = _model(_wrapper(kind, 0.7)), _model(_wrapper(kind, 1.0))
    _copy_weights(model, twin)
    first, second = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first, twin.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    if _eager_call(stock, x) is not None:              # where stock can be called eagerly
        np.testing.assert_allclose(_eager_call(model, x), _eager_call(twin, x), rtol=1e-6,
                                   atol=1e-7)
        assert not np.allclose(_eager_call(model, x, training=True),
                               _eager_call(twin, x, training=True))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(twin.evaluate(x, y, verbose=0),
                                                            rel=1e-6)

    before = [w.copy() for w in model.get_weights()]
    trained, twin_trained = _fit_one_batch(model, x, y), _fit_one_batch(twin, x, y)
    assert all(not np.array_equal(a, b) for a, b in zip(before, trained))
    assert any(not np.allclose(a, b, rtol=1e-5) for a, b in zip(trained, twin_trained))


class _Echo(KERAS.layers.Layer if KERAS else object):
    """A decoder cell whose output is its (dropped) input: the masks made visible."""
    state_size = output_size = UNITS

    def call(self, inputs, states, training=None):
        # `training`: TF 2.2's V2 wrapper passes on every keyword Keras gives it.
        return inputs, states


class _Recorder(KERAS.layers.Layer if KERAS else object):
    """Keeps the first example's decoder outputs of the last batch (in eager and in fit)."""

    def build(self, input_shape):
        self.seen = self.add_weight("seen", shape=(STEPS, UNITS), trainable=False,
                                    initializer="zeros")

    def call(self, inputs):
        with tf.control_dependencies([self.seen.assign(inputs[0])]):
            return tf.identity(inputs)


def _encoder_decoder():
    encoder_in = KERAS.Input((STEPS, DEPTH))
    decoder_in = KERAS.Input((STEPS, UNITS))
    _, state = KERAS.layers.RNN(KERAS.layers.GRUCell(UNITS), return_state=True)(encoder_in)
    decoder = KERAS.layers.RNN(_echo_wrapper(), return_sequences=True)
    decoded = decoder(decoder_in, initial_state=state)
    recorder = _Recorder()
    outputs = KERAS.layers.Dense(1)(recorder(decoded))
    model = KERAS.Model([encoder_in, decoder_in], outputs)
    model.compile(KERAS.optimizers.SGD(0.01), "mse")
    return model, recorder


def _one_sequence_mask(seen):
    seen = np.asarray(seen)
    assert set(np.unique(seen)) <= {0.0, 2.0}, seen     # ones, inverted dropout at keep 0.5
    np.testing.assert_array_equal(seen, np.broadcast_to(seen[:1], seen.shape))
    return seen[0]


def test_a_decoder_with_initial_state_draws_a_mask_per_batch_and_per_call():
    model, recorder = _encoder_decoder()
    x = np.random.RandomState(1).randn(24, STEPS, DEPTH).astype(np.float32)
    ones = np.ones((24, STEPS, UNITS), np.float32)
    y = np.zeros((24, STEPS, 1), np.float32)
    masks = []
    callback = KERAS.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: masks.append(
            _one_sequence_mask(recorder.seen.numpy())))
    model.fit([x, ones], y, batch_size=4, epochs=1, shuffle=False, verbose=0,
              callbacks=[callback])
    assert len(masks) == 6
    assert len(set(m.tobytes() for m in masks)) >= 5     # 8 units: two equal draws are rare
    eager = []
    for _ in range(2):
        model([x[:2], ones[:2]], training=True)
        eager.append(_one_sequence_mask(recorder.seen.numpy()))
    assert not np.array_equal(eager[0], eager[1])
    model([x[:2], ones[:2]])                           # inference: nothing dropped
    np.testing.assert_array_equal(recorder.seen.numpy(), np.ones((STEPS, UNITS)))


def _echo_wrapper():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.nn.RNNCellDropoutWrapper(_Echo(), input_keep_prob=0.5, seed=2,
                                           variational_recurrent=True, input_size=UNITS,
                                           dtype=tf.float32)


def test_dynamic_rnn_with_initial_state_draws_a_mask_per_eager_and_function_call():
    wrapper = _echo_wrapper()
    ones, state = tf.ones((2, STEPS, UNITS)), tf.zeros((2, UNITS))

    def run():
        return V1.nn.dynamic_rnn(wrapper, ones, initial_state=state)[0]
    for call in (run, tf.function(run)):
        first, second = _one_sequence_mask(call()[0]), _one_sequence_mask(call()[0])
        assert not np.array_equal(first, second)


def test_a_keras_layer_call_leaves_the_learning_phase_unset_for_later_calls():
    """The wrapper asks Keras which ``training`` a layer call resolved; that read must not set
    the global learning phase (TF 2.2's Keras caches a read as set, and then passes
    ``training=False`` to every later layer call: here, a stock-dropping ``dynamic_rnn``).
    A fresh interpreter, so that no earlier test has set it."""
    code = """
import json, numpy as np, tensorflow as tf
import test_keras_programs as t
x = np.ones((2, t.STEPS, t.UNITS), np.float32)
t.KERAS.layers.RNN(t._echo_wrapper())(x)        # no `training`: the learning phase is read
seen = tf.compat.v1.nn.dynamic_rnn(t._echo_wrapper(), tf.constant(x), dtype=tf.float32)[0]
print(json.dumps(sorted(set(np.unique(seen.numpy()).tolist()))))
"""
    rc, out, err = run_python(code, env=TESTS_IMPORTABLE)
    assert rc == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == [0.0, 2.0]       # dropped at keep 0.5


def _v1_gru_model():
    gru = V1.nn.rnn_cell.GRUCell(UNITS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapper = V1.nn.rnn_cell.DropoutWrapper(gru, output_keep_prob=0.9, seed=1)
    return _model(wrapper), gru


def test_a_compat_v1_gru_in_the_compat_v1_wrapper_is_tracked_and_trained(tmp_path):
    model, gru = _v1_gru_model()
    assert len(gru.trainable_weights) == 4
    tracked = [id(v) for v in model.trainable_weights]
    assert all(id(v) in tracked for v in gru.trainable_weights)
    assert len(tracked) == 6                               # no weight counted twice
    x, y = _data()
    before = [v.numpy().copy() for v in gru.trainable_weights]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    after = [v.numpy() for v in gru.trainable_weights]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))

    path = str(tmp_path / "weights.h5")
    model.save_weights(path)
    loaded, loaded_gru = _v1_gru_model()
    loaded.load_weights(path)
    for a, b in zip(after, loaded_gru.trainable_weights):
        np.testing.assert_array_equal(a, b.numpy())
    prefix = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    restored, restored_gru = _v1_gru_model()
    tf.train.Checkpoint(model=restored).restore(prefix).expect_partial()
    for a, b in zip(after, restored_gru.trainable_weights):
        np.testing.assert_array_equal(a, b.numpy())

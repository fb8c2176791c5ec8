"""A hand-written GRU in the same file, the comprehension leak, a keep bound to 1, positional
arguments, per-step against variational dropout, Keras 3's GRU."""
import tensorflow as tf


class TinyRecurrent(tf.nn.rnn_cell.RNNCell):
    """GRU-like by its step, though nothing in its name says so."""

    def call(self, inputs, h):
        z = tf.sigmoid(tf.layers.dense(tf.concat([inputs, h], 1), 8))
        candidate = tf.tanh(tf.layers.dense(tf.concat([inputs, h], 1), 8))
        h = z * h + (1 - z) * candidate
        return h, h


class TinyVanilla(tf.nn.rnn_cell.RNNCell):
    def call(self, inputs, h):
        h = tf.tanh(tf.layers.dense(tf.concat([inputs, h], 1), 8))
        return h, h


def hand_written(keep):
    tiny = tf.nn.rnn_cell.DropoutWrapper(TinyRecurrent(), state_keep_prob=keep)  # expect: TRD104
    vanilla = tf.nn.rnn_cell.DropoutWrapper(TinyVanilla(), state_keep_prob=keep)
    return tiny, vanilla


def comprehensions(keep, sizes):
    grus = [tf.nn.rnn_cell.GRUCell(n) for n in sizes]
    wrapped_grus = [tf.nn.rnn_cell.DropoutWrapper(c, state_keep_prob=keep) for c in grus]  # expect: TRD104
    lstms = [tf.nn.rnn_cell.LSTMCell(n) for n in sizes]
    wrapped_lstms = [tf.nn.rnn_cell.DropoutWrapper(c, state_keep_prob=keep) for c in lstms]
    lambdas = list(map(lambda c: tf.nn.rnn_cell.DropoutWrapper(c, state_keep_prob=keep), lstms))  # expect: TRD202
    return wrapped_grus, wrapped_lstms, lambdas


def bound_to_one(training):
    keep = 1.0
    kept = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), state_keep_prob=keep)
    rate = 0.8
    dropped = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), state_keep_prob=rate)  # expect: TRD104
    return kept, dropped


def positional(keep):
    concat = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.BasicLSTMCell(64, 0.0, False), state_keep_prob=keep)  # expect: TRD102
    tuple_state = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.BasicLSTMCell(64, 0.0, True), state_keep_prob=keep)
    return concat, tuple_state


def per_step_and_variational(keep):
    per_step = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), state_keep_prob=keep)  # expect: TRD104
    variational = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), state_keep_prob=keep, variational_recurrent=True, dtype=tf.float32)  # expect: TRD101
    return per_step, variational


def keras_gru(x):
    dropped = tf.keras.layers.GRU(32, recurrent_dropout=0.5)(x)  # expect: TRD105
    stock = tf.keras.layers.GRU(32, recurrent_dropout=0.0)(x)
    lstm = tf.keras.layers.LSTM(32, recurrent_dropout=0.5)(x)
    return dropped, stock, lstm

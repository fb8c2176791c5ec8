"""Character-level language model, TF 1.x graph mode and TF 2.x through tf.compat.v1."""
import tensorflow as tf


def build_model(inputs, keep_prob, num_units=256):
    cell = tf.nn.rnn_cell.GRUCell(num_units)
    cell = tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=keep_prob)
    cell = tf.nn.rnn_cell.DropoutWrapper(  # expect: TRD101
        cell, state_keep_prob=keep_prob, variational_recurrent=True, dtype=tf.float32)
    outputs, _ = tf.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
    return outputs


def build_with_placeholder(inputs):
    keep = tf.placeholder_with_default(1.0, [])      # fed 0.8 in training
    cell = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(64), state_keep_prob=keep)  # expect: TRD104
    evaluation = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(64), state_keep_prob=1.0)
    return cell, evaluation, keep


def build_configurable(cell_type, keep):
    if cell_type == "gru":
        cell = tf.compat.v1.nn.rnn_cell.GRUCell(64)
    else:
        cell = tf.compat.v1.nn.rnn_cell.LSTMCell(64, state_is_tuple=False)
    return tf.compat.v1.nn.rnn_cell.DropoutWrapper(cell, state_keep_prob=keep)  # expect: TRD104, TRD102


def build_keras_cells(keep):
    gru = tf.nn.RNNCellDropoutWrapper(tf.keras.layers.GRUCell(32), state_keep_prob=keep)  # expect: TRD104
    lstm = tf.nn.RNNCellDropoutWrapper(tf.keras.layers.LSTMCell(32), state_keep_prob=0.9)  # expect: TRD103
    inputs_only = tf.nn.RNNCellDropoutWrapper(tf.keras.layers.GRUCell(32), input_keep_prob=0.9)
    return gru, lstm, inputs_only

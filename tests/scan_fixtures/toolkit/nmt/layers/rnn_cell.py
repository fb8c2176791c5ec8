"""Cells of the toolkit: a hand-written GRU, a plain RNN cell, tables of cell classes."""
import functools

import tensorflow as tf


class MyGRUCell(tf.nn.rnn_cell.RNNCell):
    """A GRU written by hand: the package cannot reroute it, it only warns."""

    def __init__(self, num_units):
        super(MyGRUCell, self).__init__()
        self._num_units = num_units

    @property
    def state_size(self):
        return self._num_units

    @property
    def output_size(self):
        return self._num_units

    def call(self, inputs, state):
        gates = tf.layers.dense(tf.concat([inputs, state], 1), 2 * self._num_units)
        r, u = tf.split(tf.sigmoid(gates), 2, axis=1)
        c = tf.tanh(tf.layers.dense(tf.concat([inputs, r * state], 1), self._num_units))
        new_state = (1 - u) * state + u * c
        return new_state, new_state


class PlainCell(tf.nn.rnn_cell.RNNCell):
    """A vanilla RNN cell: its state may be dropped."""

    def __init__(self, num_units):
        super(PlainCell, self).__init__()
        self._num_units = num_units

    def call(self, inputs, state):
        output = tf.tanh(tf.layers.dense(tf.concat([inputs, state], 1), self._num_units))
        return output, output


CELLS = {"gru": tf.contrib.rnn.GRUCell, "rnn": tf.nn.rnn_cell.BasicRNNCell}
RNN_CELLS = {"rnn": tf.nn.rnn_cell.BasicRNNCell, "plain": PlainCell}
CELL_LIST = [tf.nn.rnn_cell.BasicRNNCell, tf.nn.rnn_cell.GRUCell]
make_gru = functools.partial(tf.nn.rnn_cell.GRUCell, activation=tf.tanh)
make_concat_lstm = functools.partial(tf.nn.rnn_cell.LSTMCell, state_is_tuple=False)
make_rnn = functools.partial(tf.nn.rnn_cell.BasicRNNCell, activation=tf.tanh)

"""Dicts and lists of cell classes, functools.partial, class attributes (imported absolutely)."""
import tensorflow as tf

from nmt.layers.rnn_cell import (CELLS, CELL_LIST, RNN_CELLS, make_concat_lstm, make_gru,
                                 make_rnn)


def from_dict(name, keep):
    gru_or_rnn = tf.nn.rnn_cell.DropoutWrapper(CELLS[name](32), state_keep_prob=keep)  # expect: TRD104
    rnn_only = tf.nn.rnn_cell.DropoutWrapper(RNN_CELLS.get(name)(32), state_keep_prob=keep)
    return gru_or_rnn, rnn_only


def from_list(index, keep):
    return tf.nn.rnn_cell.DropoutWrapper(CELL_LIST[index](32), state_keep_prob=keep, variational_recurrent=True, dtype=tf.float32)  # expect: TRD101


def from_partial(keep):
    gru = tf.nn.rnn_cell.DropoutWrapper(make_gru(32), state_keep_prob=keep)  # expect: TRD104
    lstm = tf.nn.rnn_cell.DropoutWrapper(make_concat_lstm(32), state_keep_prob=keep)  # expect: TRD102
    rnn = tf.nn.rnn_cell.DropoutWrapper(make_rnn(32), state_keep_prob=keep)
    return gru, lstm, rnn


class Decoder(object):
    cell_class = tf.nn.rnn_cell.GRUCell

    def __init__(self, keep):
        self.keep = keep

    def build(self):
        return tf.nn.rnn_cell.DropoutWrapper(self.cell_class(32), state_keep_prob=self.keep)  # expect: TRD104


class PlainDecoder(object):
    cell_class = tf.nn.rnn_cell.BasicRNNCell

    def build(self, keep):
        return tf.nn.rnn_cell.DropoutWrapper(PlainDecoder.cell_class(32), state_keep_prob=keep)

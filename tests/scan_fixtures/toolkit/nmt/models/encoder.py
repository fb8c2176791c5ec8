"""`import pkg.layers as layers`, a cell-returning method with branches, a config-named cell."""
import tensorflow as tf

import nmt.layers as layers
from nmt.utils import get_instance


def custom_gru(keep):
    cell = layers.rnn_cell.MyGRUCell(64)
    wrapped = tf.nn.rnn_cell.DropoutWrapper(cell, state_keep_prob=keep, variational_recurrent=True, dtype=tf.float32)  # expect: TRD101
    plain = tf.nn.rnn_cell.DropoutWrapper(layers.rnn_cell.PlainCell(64), state_keep_prob=keep, variational_recurrent=True, dtype=tf.float32)
    return wrapped, plain


class Encoder(object):
    def __init__(self, hparams, keep):
        self.hparams, self.keep = hparams, keep

    def _get_cell(self, config, is_training):
        if config.cell_type == "gru":
            return tf.contrib.rnn.GRUCell(config.num_units)
        elif config.cell_type == "lstm":
            return tf.contrib.rnn.LSTMCell(config.num_units, state_is_tuple=False)
        return tf.contrib.rnn.BasicRNNCell(config.num_units)

    def _get_safe_cell(self, config):
        if config.cell_type == "lstm":
            return tf.contrib.rnn.LSTMCell(config.num_units)
        return tf.contrib.rnn.BasicRNNCell(config.num_units)

    def build(self, config, is_training):
        cell = self._get_cell(config, is_training)
        cell = tf.contrib.rnn.DropoutWrapper(cell, state_keep_prob=self.keep, variational_recurrent=True, dtype=tf.float32)  # expect: TRD101, TRD102
        safe = self._get_safe_cell(config)
        safe = tf.contrib.rnn.DropoutWrapper(safe, state_keep_prob=self.keep, variational_recurrent=True, dtype=tf.float32)
        return cell, safe

    def from_config(self):
        cell = get_instance(self.hparams["type"], self.hparams["kwargs"], ["tensorflow.contrib.rnn"])
        cell = tf.contrib.rnn.DropoutWrapper(cell, state_keep_prob=self.keep)  # expect: TRD202
        other = get_instance(self.hparams["type"], self.hparams["kwargs"], ["tensorflow.contrib.rnn"])
        other = tf.contrib.rnn.DropoutWrapper(other, state_keep_prob=1.0, output_keep_prob=self.keep)
        return cell, other

"""Relative imports, and a package __init__ re-export."""
import tensorflow as tf

from ..layers import PlainCell
from ..layers.rnn_cell import MyGRUCell as GRU
from .. import layers


def relative(keep):
    gru = tf.nn.rnn_cell.DropoutWrapper(GRU(16), state_keep_prob=keep)  # expect: TRD104
    reexported = tf.nn.rnn_cell.DropoutWrapper(layers.MyGRUCell(16), state_keep_prob=keep)  # expect: TRD104
    plain = tf.nn.rnn_cell.DropoutWrapper(PlainCell(16), state_keep_prob=keep)
    return gru, reexported, plain

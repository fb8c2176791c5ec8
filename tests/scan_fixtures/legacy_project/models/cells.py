"""Cell factories: aliases, a star import, comprehensions, subclasses, wrappers."""
import tensorflow.compat.v1 as tf1
from tensorflow.contrib import rnn as contrib_rnn
from tensorflow.contrib.rnn import *  # noqa: F403 (DropoutWrapper, MultiRNNCell, GRUCell...)
from tensorflow.contrib.rnn import DropoutWrapper as DW, GRUBlockCellV2, GRUCell


def make_cell(units):
    return GRUBlockCellV2(units)


class StackedEncoder(object):
    def __init__(self, units, keep):
        self.cells = [make_cell(units) for _ in range(3)]
        self.keep = keep

    def wrapped(self):
        return [DW(cell=c, state_keep_prob=self.keep) for c in self.cells]  # expect: TRD104


class LayerNormGRU(GRUCell):
    """A user subclass: still a GRU."""


def subclass_cell(keep):
    return DW(LayerNormGRU(32), state_keep_prob=keep)  # expect: TRD104


def star_imported(keep):
    stack = MultiRNNCell([GRUCell(4)] * 2)  # noqa: F405
    return DropoutWrapper(stack, state_keep_prob=keep)  # noqa: F405  # expect: TRD104


def residual(keep):
    cell = contrib_rnn.ResidualWrapper(contrib_rnn.GRUCell(8))
    return contrib_rnn.DropoutWrapper(cell, state_keep_prob=keep)  # expect: TRD104


def tuple_lstm(keep):
    return tf1.nn.rnn_cell.DropoutWrapper(tf1.nn.rnn_cell.LSTMCell(32), state_keep_prob=keep)  # expect: TRD201


def multi_concat(keep):
    layers = [tf1.nn.rnn_cell.LSTMCell(16) for _ in range(2)]
    stack = tf1.nn.rnn_cell.MultiRNNCell(layers, state_is_tuple=False)
    return tf1.nn.rnn_cell.DropoutWrapper(stack, state_keep_prob=keep)  # expect: TRD102


def reviewed(keep):
    return DW(GRUCell(8), state_keep_prob=keep)  # noqa: TRD101 (rerouted by tf_rnn_dropout_fix)

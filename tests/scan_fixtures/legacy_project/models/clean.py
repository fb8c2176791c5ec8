"""DropoutWrapper calls that must not be reported."""
import tensorflow as tf
from mylib.cells import GRUCell as CustomGRU

USAGE = "tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), state_keep_prob=0.5)"
# tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), state_keep_prob=0.5)


class DropoutWrapper(object):
    """A class of this code base that shares the name."""

    def __init__(self, cell, state_keep_prob=1.0):
        self.cell, self.state_keep_prob = cell, state_keep_prob


def local_class(keep):
    return DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), state_keep_prob=keep)


def no_state_dropout(keep):
    inputs_outputs = tf.nn.rnn_cell.DropoutWrapper(
        tf.nn.rnn_cell.GRUCell(8), input_keep_prob=keep, output_keep_prob=keep)
    positional_one = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), keep, keep, 1.0)
    integer_one = tf.contrib.rnn.DropoutWrapper(tf.contrib.rnn.GRUCell(8), state_keep_prob=1)
    return inputs_outputs, positional_one, integer_one


def safe_cells(keep):
    vanilla = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.BasicRNNCell(8), state_keep_prob=keep)
    elsewhere = tf.nn.rnn_cell.DropoutWrapper(CustomGRU(8), state_keep_prob=keep)  # expect: TRD104
    return vanilla, elsewhere


def cell_from_the_caller(cell, keep, **options):
    unknown_cell = tf.nn.rnn_cell.DropoutWrapper(cell, state_keep_prob=keep)  # expect: TRD202
    hidden_keep = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), **options)
    return unknown_cell, hidden_keep

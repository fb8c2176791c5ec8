"""Neither Python 3 nor Python 2: reported as TRD900, and the scan goes on."""
import tensorflow as tf


def broken(:  # expect: TRD900
    return tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.GRUCell(8), state_keep_prob=0.5)

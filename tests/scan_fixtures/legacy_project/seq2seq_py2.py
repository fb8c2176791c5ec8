# -*- coding: utf-8 -*-
"""Seq2seq encoder and decoder, Python 2 and TF 1.2 era."""
import sys

import tensorflow as tf
from tensorflow.contrib import rnn

MODE = 0755L


def encoder(inputs, keep_prob, layers=2):
    print "building an encoder of %d layers" % layers
    print >>sys.stderr, "keep_prob:", `keep_prob`
    cells = []
    for _ in xrange(layers):
        cells.append(rnn.GRUCell(128))
    stack = rnn.MultiRNNCell(cells)
    cell = rnn.DropoutWrapper(stack, 1.0, 1.0, keep_prob)  # expect: TRD104
    try:
        outputs, state = tf.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
    except ValueError, e:
        raise RuntimeError, "encoder failed: %s" % e
    return outputs


def decoder(inputs, keep_prob):
    cell = rnn.LSTMCell(128, state_is_tuple=False)
    if keep_prob <> 1.0: print ur"state dropout on"
    cell = rnn.DropoutWrapper(cell, state_keep_prob=keep_prob)  # expect: TRD102
    block = rnn.DropoutWrapper(rnn.GRUBlockCell(64), keep_prob, keep_prob)
    exec "config = {}" in globals()
    return cell, block

"""DESIGN 3.7: bad input gets an exception naming the argument, the value and the fix.

The catalogue below is the one the "Bad input" table of docs/reliability.md documents: wrapper
arguments in ``CATALOGUE`` (a dict of keyword arguments, or a function building them inside the
test's graph when they are tensors), everything else in ``OTHER_CATALOGUE``. Import-time
environment values are covered in test_import.py.
"""
import os

import numpy as np
import pytest

import tensorflow as tf
import tf_rnn_dropout_fix as fix
from conftest import RNN_CELL, V1

POLICIES = "'reroute', 'warn', 'raise'"


def _wrap(kwargs=None, cell=None):
    with tf.Graph().as_default():
        kwargs = kwargs() if callable(kwargs) else kwargs or {}
        return RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(4) if cell is None else cell, **kwargs)


CATALOGUE = [
    ("keep above one", dict(state_keep_prob=1.5), ValueError, "state_keep_prob", "e.g."),
    ("keep negative", dict(input_keep_prob=-0.1), ValueError, "input_keep_prob", "e.g."),
    ("keep zero", dict(output_keep_prob=0.0), ValueError, "output_keep_prob", "divides by zero"),
    ("keep NaN", dict(state_keep_prob=float("nan")), ValueError, "state_keep_prob", "e.g."),
    ("keep as a string", dict(state_keep_prob="0.8"), TypeError, "state_keep_prob", "e.g."),
    ("keep None", dict(input_keep_prob=None), TypeError, "input_keep_prob", "e.g."),
    ("keep as a bool", dict(output_keep_prob=True), TypeError, "output_keep_prob", "e.g."),
    ("keep as a list", dict(state_keep_prob=[0.5, 0.5]), ValueError, "scalar", "e.g."),
    ("keep as a numpy vector", dict(state_keep_prob=np.array([0.5, 0.6])), ValueError,
     "state_keep_prob", "scalar"),
    ("variational without dtype", dict(state_keep_prob=0.5, variational_recurrent=True),
     ValueError, "dtype", "dtype=tf.float32"),
    ("variational input dropout without input_size",
     dict(input_keep_prob=0.5, variational_recurrent=True, dtype=tf.float32), ValueError,
     "input_size", "pass"),
    ("variational_recurrent not a bool", dict(variational_recurrent="yes"), TypeError,
     "variational_recurrent", "True or False"),
    ("seed not an int", dict(seed="42"), TypeError, "seed", "seed=42"),
    ("filter visitor not callable", dict(dropout_state_filter_visitor=3), TypeError,
     "dropout_state_filter_visitor", "pass a function"),
    ("keep as a non-scalar tensor", lambda: dict(state_keep_prob=tf.constant([0.5, 0.5])),
     ValueError, "state_keep_prob must be a scalar", "e.g."),
    ("keep as a placeholder of rank 1",
     lambda: dict(input_keep_prob=V1.placeholder(tf.float32, [3])), ValueError,
     "input_keep_prob must be a scalar", "e.g."),
    ("keep as an integer tensor", lambda: dict(input_keep_prob=tf.constant(1)), TypeError,
     "input_keep_prob", "scalar float tensor"),
    ("keep as a constant tensor above one", lambda: dict(state_keep_prob=tf.constant(2.0)),
     ValueError, "state_keep_prob", "e.g."),
    ("keep as a NaN tensor", lambda: dict(output_keep_prob=tf.constant(float("nan"))),
     ValueError, "output_keep_prob", "e.g."),
]


def _with_environment_policy(value):
    os.environ["TF_RNN_DROPOUT_FIX_GRU_POLICY"] = value
    try:
        with tf.Graph().as_default():
            RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(4), state_keep_prob=0.8)
    finally:
        del os.environ["TF_RNN_DROPOUT_FIX_GRU_POLICY"]


OTHER_CATALOGUE = [
    ("cell is a class, not an instance", lambda: _wrap(cell=RNN_CELL.GRUCell), TypeError,
     "is a class", "pass an instance"),
    ("cell is not a cell", lambda: _wrap(cell=3), TypeError, "cell=3", "e.g. cell="),
    ("unknown policy in code", lambda: fix.patch(gru_policy="rerout"), ValueError,
     "gru_policy='rerout'", POLICIES),
    ("unknown policy in the environment", lambda: _with_environment_policy("sometimes"),
     ValueError, "TF_RNN_DROPOUT_FIX_GRU_POLICY='sometimes'", POLICIES),
    ("strict not a bool", lambda: fix.patch(strict="yes"), TypeError, "strict='yes'",
     "True or False"),
]


@pytest.mark.parametrize("case", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_argument_is_a_clear_error(case):
    _, kwargs, error, names, fix_hint = case
    with pytest.raises(error) as caught:
        _wrap(kwargs)
    assert names in str(caught.value) and fix_hint in str(caught.value)


@pytest.mark.parametrize("case", OTHER_CATALOGUE, ids=[c[0] for c in OTHER_CATALOGUE])
def test_other_bad_input_is_a_clear_error(case):
    _, action, error, names, fix_hint = case
    with pytest.raises(error) as caught:
        action()
    assert names in str(caught.value) and fix_hint in str(caught.value)
    assert fix.is_patched()           # a refused call leaves the patch as it was


def test_the_catalogue_has_at_least_fifteen_kinds():
    assert len(CATALOGUE) + len(OTHER_CATALOGUE) >= 15


def test_good_arguments_of_every_accepted_type_still_work():
    with tf.Graph().as_default():
        for keep in (1, 0.5, np.float32(0.5), np.float64(1.0), tf.constant(0.7),
                     tf.compat.v1.placeholder_with_default(1.0, []) if hasattr(tf, "compat")
                     and hasattr(tf.compat, "v1") else tf.placeholder_with_default(1.0, [])):
            RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(4), state_keep_prob=keep, seed=np.int64(3))

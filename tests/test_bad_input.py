"""DESIGN 3.7: bad wrapper arguments get an exception naming the argument, the value and the fix."""
import numpy as np
import pytest

import tensorflow as tf
from conftest import RNN_CELL


def _wrap(**kwargs):
    with tf.Graph().as_default():
        return RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(4), **kwargs)


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
]


@pytest.mark.parametrize("case", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_argument_is_a_clear_error(case):
    _, kwargs, error, names, fix_hint = case
    with pytest.raises(error) as caught:
        _wrap(**kwargs)
    assert names in str(caught.value) and fix_hint in str(caught.value)


def test_tensor_keep_probabilities_that_are_not_scalars_or_floats():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="state_keep_prob must be a scalar"):
            RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(4), state_keep_prob=tf.constant([0.5, 0.5]))
        with pytest.raises(TypeError, match="input_keep_prob.*dtype int32"):
            RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(4), input_keep_prob=tf.constant(1))
        with pytest.raises(ValueError, match="state_keep_prob"):
            RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(4), state_keep_prob=tf.constant(2.0))


def test_good_arguments_of_every_accepted_type_still_work():
    with tf.Graph().as_default():
        for keep in (1, 0.5, np.float32(0.5), np.float64(1.0), tf.constant(0.7),
                     tf.compat.v1.placeholder_with_default(1.0, []) if hasattr(tf, "compat")
                     and hasattr(tf.compat, "v1") else tf.placeholder_with_default(1.0, [])):
            RNN_CELL.DropoutWrapper(RNN_CELL.LSTMCell(4), state_keep_prob=keep, seed=np.int64(3))

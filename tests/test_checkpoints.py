"""Checkpoints load both ways between stock and corrected graphs (DESIGN 3.3, 3.6).

Services restore checkpoints written before the package was installed, and may have to roll
back.  The corrected wrapper creates no variable and the GRU reroute runs inside the cell's own
``call``, so a checkpoint written from either side holds exactly the variables, names and shapes
the other side expects, and at keep probability 1 both compute the same outputs.
"""
import numpy as np
import pytest

import tensorflow as tf
from conftest import RNN_CELL, V1

CELLS = {
    "gru": lambda: RNN_CELL.GRUCell(6),
    "lstm": lambda: RNN_CELL.LSTMCell(6),
    "lstm concatenated state": lambda: RNN_CELL.LSTMCell(6, state_is_tuple=False),
    "lstm with projection": lambda: RNN_CELL.LSTMCell(6, num_proj=4),
    "gru over lstm": lambda: RNN_CELL.MultiRNNCell([RNN_CELL.GRUCell(6), RNN_CELL.LSTMCell(6)]),
}


def _keep_placeholder():
    """Fed 0.8 for training, 1.0 by default: the tensor path of the corrected step runs."""
    return V1.placeholder_with_default(tf.constant(1.0), [])


def _model_variables(run):
    with run.graph.as_default():
        return [v for v in V1.global_variables() if "GradientDescent" not in v.name]


def _save(run, path):
    with run.graph.as_default():
        return V1.train.Saver(_model_variables(run)).save(run.session, path)


def _restore(run, path):
    with run.graph.as_default():
        V1.train.Saver(_model_variables(run)).restore(run.session, path)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("direction", ["stock to corrected", "corrected to stock"])
def test_a_checkpoint_restores_across_with_every_variable_and_equal_outputs_at_keep_one(
        make_run, tmp_path, cell, direction):
    from_stock = direction == "stock to corrected"
    source = make_run(CELLS[cell], steps=12, stock=from_stock, keep=_keep_placeholder)
    target = make_run(CELLS[cell], steps=12, stock=not from_stock, keep=_keep_placeholder)
    source.run(source.train, feed={source.keep: 0.8})     # move the weights, with dropout
    path = _save(source, str(tmp_path / "model.ckpt"))

    saved = V1.train.NewCheckpointReader(path).get_variable_to_shape_map()
    expected = {v.op.name: v.get_shape().as_list() for v in _model_variables(target)}
    assert saved == expected            # nothing missing, renamed, reshaped or added

    _restore(target, path)
    for mine, theirs in zip(_model_variables(source), _model_variables(target)):
        assert mine.op.name == theirs.op.name
        np.testing.assert_array_equal(source.run(mine), target.run(theirs))
    np.testing.assert_allclose(source.run(source.outputs), target.run(target.outputs),
                               rtol=1e-6, atol=1e-7)

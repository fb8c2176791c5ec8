"""Keras' ``training`` in the corrected step (DESIGN 3.8): dropout only while training.

Stock applies the wrapper's dropout whatever Keras says, so ``predict``, ``evaluate`` and
``model(x)`` are noisy.  Here a step that knows ``training`` (its own argument, passed by Keras
to the V2 wrapper when the wrapped cell takes one, or the value Keras resolved for the RNN layer
call that started the sequence, see ``_sequences``) drops only when it is true.  A step with
no ``training`` (TF1 graph code, ``dynamic_rnn``, a direct call outside Keras) is stock.

A symbolic ``training`` (Keras' learning phase in a TF1-style graph) selects each keep
probability at run time: keep 1 makes the stock dropout ops the identity, bit for bit.
"""
import numbers


def should_dropout(keep_prob):
    # The stock test: a Python float below 1, or any tensor (placeholder_with_default(1.0)).
    return (not isinstance(keep_prob, float)) or keep_prob < 1


def constant_value(training):
    """``training`` as a Python bool, or None while it is only known at run time."""
    if training is None or isinstance(training, (bool, numbers.Number)):
        return None if training is None else bool(training)
    if not hasattr(training, "dtype"):
        return bool(training)
    from tensorflow.python.framework import tensor_util
    try:
        value = tensor_util.constant_value(training)
    except Exception:
        value = None
    return None if value is None else bool(value)


def _at_run_time(training, keep_prob):
    from tensorflow.python.framework import dtypes, ops
    from tensorflow.python.ops import array_ops, math_ops
    keep_prob = ops.convert_to_tensor(keep_prob)
    return array_ops.where(math_ops.cast(training, dtypes.bool), keep_prob,
                           array_ops.ones_like(keep_prob))


class KeepProbabilities(object):
    """The keep probabilities one step applies: the wrapper's, or 1 where Keras says inference."""
    __slots__ = ("input", "state", "output", "gate")

    def __init__(self, wrapper, gate_keep_prob, training):
        keeps = [wrapper._input_keep_prob, wrapper._state_keep_prob, wrapper._output_keep_prob,
                 gate_keep_prob]
        value = constant_value(training)
        if value is False:
            keeps = [1.0] * 4
        elif value is None and training is not None:
            keeps = [_at_run_time(training, keep) if should_dropout(keep) else keep
                     for keep in keeps]
        self.input, self.state, self.output, self.gate = keeps

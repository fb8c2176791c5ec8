"""The package's own warning and error types, and how it reports.

Every warning the package emits is an :class:`RNNDropoutWarning`, so a service can filter or
escalate them in one line.  Log lines go through the logging TensorFlow itself uses on the
installed version (absl logging from TF 1.14 on), never to stdout, each text once.
"""
import logging
import sys
import warnings


class RNNDropoutWarning(UserWarning):
    """Warning category for everything tf_rnn_dropout_fix reports."""


class UnsafeStateDropoutError(ValueError):
    """State dropout would reach a GRU's carried state and ``gru_policy="raise"`` is in force."""


def _logger():
    # Only borrow TF's logger when TF is already imported: reporting must never import it.
    if "tensorflow" in sys.modules:
        try:
            from tensorflow.python.platform import tf_logging
            return tf_logging
        except Exception:  # pragma: no cover - a broken TF install still gets std logging
            pass
    return logging.getLogger("tf_rnn_dropout_fix")


_said = set()           # the messages already logged (or, with once=True, warned) here


def warn(message, stacklevel=2, once=False):
    """Emit one RNNDropoutWarning, and the same text once per process as an INFO log line.

    The warning is what a person sees (Python's filters decide how often); the log line, at
    INFO so that stderr does not show the text twice, is for services that collect TF's log.
    ``once``: a message about the whole process (TF cannot be imported, patched late), which
    is said once per process however often the patch is attempted.
    """
    if once and message in _said:
        return
    warnings.warn(message, RNNDropoutWarning, stacklevel=stacklevel + 1)
    if message not in _said:
        _said.add(message)
        _logger().info("tf_rnn_dropout_fix: %s", message)


def log_info(message, *args):
    _logger().info("tf_rnn_dropout_fix: " + message, *args)

"""tf_rnn_dropout_fix: one import makes TensorFlow's RNN DropoutWrapper correct.

``import tf_rnn_dropout_fix`` patches every copy of the wrapper the installed TensorFlow, Keras
and tf_keras provide, unless ``TF_RNN_DROPOUT_FIX=off``:

* state dropout never touches an LSTM memory ``c`` (tuple, concatenated or Keras list states);
* state dropout on a GRU is applied to ``h_{t-1}`` only inside its recurrent products
  (``gru_policy="reroute"``, the default), or warns (``"warn"``), or raises (``"raise"``);
* everything else is the stock math, bit for bit.

An unsupported or broken TensorFlow never breaks the importing program: the patch does nothing,
says why once (an :class:`RNNDropoutWarning` and a log line) and :func:`status` shows it.
"""
import contextlib
import os
import re
import sys
import threading

from tf_rnn_dropout_fix import _compat, _config, _errors, _patching, _status
from tf_rnn_dropout_fix._errors import RNNDropoutWarning, UnsafeStateDropoutError
from tf_rnn_dropout_fix._status import Status
from tf_rnn_dropout_fix._version import __version__

__all__ = ["patch", "unpatch", "is_patched", "status", "disabled", "RNNDropoutWarning",
           "UnsafeStateDropoutError", "Status", "__version__"]

_api_lock = threading.RLock()
_problem = [None]     # why the patch is not in force, for status()


def _give_up(reason, strict, error_type):
    _problem[0] = reason
    if strict:
        raise error_type(reason)
    _errors.warn(reason + "; tf_rnn_dropout_fix left TensorFlow unchanged.", stacklevel=4,
                 once=True)


def _patch(gru_policy, strict, whole_heap=True):
    """patch() without the Status report; returns True when the corrections are in force.

    ``whole_heap``: where to look for wrappers built before (``_patching.patch_loaded_modules``).
    """
    if not isinstance(strict, bool):
        raise TypeError("strict=%r must be True or False: strict=True raises when TensorFlow "
                        "is missing or unsupported, strict=False warns." % (strict,))
    with _api_lock:
        _config.set_code_policy(gru_policy)
        _config.gru_policy()              # a bad environment value is an error, never ignored
        tf_was_loaded = "tensorflow" in sys.modules   # else no wrapper can exist yet
        tf, reason = _compat.import_tensorflow()
        if tf is None:
            _give_up(reason, strict, ImportError)
            return False
        version = _compat.tf_version_string(tf)
        problem = _compat.support_problem(version)
        if problem is not None:
            _give_up(problem, strict, RuntimeError)
            return False
        try:
            built_stock = _patching.patch_loaded_modules(
                find_existing=tf_was_loaded, whole_heap=whole_heap)
        except Exception as exc:
            _give_up("patching TensorFlow %s failed (%s: %s)" % (version, type(exc).__name__, exc),
                     strict, RuntimeError)
            return False
        _problem[0] = None
        if built_stock:
            _errors.warn(_patching.late_patch_message(built_stock), stacklevel=3)
        return True


def patch(gru_policy=None, strict=False):
    """Correct every DropoutWrapper copy; idempotent.  Returns :class:`Status`.

    Safe to call from any thread, also while other threads build models: it waits until no
    corrected wrapper is being built or stepped.  Wrappers built before it get the corrected
    step in graphs built from them afterwards, and one :class:`RNNDropoutWarning` says so.

    Args:
      gru_policy: ``"reroute"``, ``"warn"`` or ``"raise"``, set from code (it wins over the
        other sources); None sets none from code, so the absl flag, the environment
        ``TF_RNN_DROPOUT_FIX_GRU_POLICY`` or the default ``"reroute"`` decide.
      strict: raise instead of warning when TensorFlow is missing or unsupported.

    Raises:
      ValueError: ``gru_policy`` (or the environment's policy) is not one of the three.
      TypeError: ``strict`` is not a bool.
      ImportError: ``strict=True`` and TensorFlow cannot be imported.
      RuntimeError: ``strict=True`` and this TensorFlow is not supported or could not be
        patched (as when the call comes from inside a DropoutWrapper constructor or step).
    """
    with _api_lock:
        _patch(gru_policy, strict)
        return status()


def unpatch():
    """Restore every patched attribute to the exact original object.  Returns :class:`Status`.

    Waits until no corrected wrapper is being built or stepped in another thread.

    Raises:
      RuntimeError: the call comes from inside a DropoutWrapper constructor or step.
    """
    with _api_lock:
        _patching.restore_all()
        _config.set_code_policy(None)
        _problem[0] = "unpatch() was called"
        return status()


def is_patched():
    """True while the corrections are installed."""
    return _patching.is_patched()


def status():
    """What was found and done: TF version, wrapper classes and aliases, policy and its source."""
    return _status.build(_problem[0])


@contextlib.contextmanager
def disabled():
    """Stock behaviour inside the block: wrappers built here stay stock for their whole life,
    and wrappers stepped here run the stock step.  Used to reproduce the bugs side by side."""
    _config.enter_disabled()
    try:
        yield
    finally:
        _config.exit_disabled()


def _patch_at_import():
    """The patch ``import tf_rnn_dropout_fix`` applies, unless TF_RNN_DROPOUT_FIX is off."""
    if _config.env_switch_on():
        _patch(None, False, whole_heap=False)
    else:
        _problem[0] = "%s=%s: not patched at import" % (_config.ENV_SWITCH, "off")


def _started_as_command_line():
    """True while Python imports the package to run its command line.

    ``python -m tf_rnn_dropout_fix`` (runpy is locating our ``__main__``) or the
    ``tf-rnn-dropout-fix`` script.  The command line then patches only for the subcommands that
    need TensorFlow: ``scan`` must not import it.  flake8 loading the package's plugin (the
    same checks as ``scan``) counts too.  Any other import patches as documented.
    """
    argv = getattr(sys, "argv", None) or [""]
    script = re.sub(r"(-script\.pyw?|\.exe)$", "", os.path.basename(str(argv[0])))
    if script == "tf-rnn-dropout-fix":
        return True
    frame = sys._getframe(1) if hasattr(sys, "_getframe") else None
    while frame is not None:
        if frame.f_code.co_name == "_get_module_details" \
                and frame.f_globals.get("__name__") == "runpy" \
                and frame.f_locals.get("mod_name") in (__name__, __name__ + ".__main__"):
            return True
        if str(frame.f_globals.get("__name__")).startswith("flake8."):
            return True
        frame = frame.f_back
    return False


_patching.when_imported("absl.flags", _config.define_absl_flags)
_patch_deferred_to_command_line = _started_as_command_line()
if not _patch_deferred_to_command_line:
    _patch_at_import()

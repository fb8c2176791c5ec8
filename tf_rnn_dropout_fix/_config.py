"""Configuration: the GRU policy and the on/off switch, and where each value came from.

Sources, highest first: code (``patch(gru_policy=...)``), absl flags (``--tf_rnn_dropout_fix``,
``--tf_rnn_dropout_fix_gru_policy``, read once the app has parsed its flags), the environment
(``TF_RNN_DROPOUT_FIX``, ``TF_RNN_DROPOUT_FIX_GRU_POLICY``), the default.  The policy is read
each time a wrapper is built, so a flag parsed after ``import tf_rnn_dropout_fix`` still counts.
"""
import os
import sys
import threading

GRU_POLICIES = ("reroute", "warn", "raise")
DEFAULT_GRU_POLICY = "reroute"

ENV_SWITCH = "TF_RNN_DROPOUT_FIX"
ENV_GRU_POLICY = "TF_RNN_DROPOUT_FIX_GRU_POLICY"
FLAG_SWITCH = "tf_rnn_dropout_fix"
FLAG_GRU_POLICY = "tf_rnn_dropout_fix_gru_policy"

_OFF_VALUES = ("off", "0", "false", "no")
_ON_VALUES = ("on", "1", "true", "yes", "")

_state = threading.local()
_lock = threading.Lock()
_code_policy = [None]     # set by patch(gru_policy=...); a one-element list so it can be rebound
_disabled_depth = [0]     # > 0 inside tf_rnn_dropout_fix.disabled()


def check_gru_policy(value, source):
    """Return the normalised policy, or raise ValueError naming the source and the choices."""
    if not isinstance(value, str) or value.strip().lower() not in GRU_POLICIES:
        raise ValueError(
            "%s=%r is not a GRU policy; use one of %s (reroute is the default)."
            % (source, value, ", ".join(repr(p) for p in GRU_POLICIES)))
    return value.strip().lower()


def set_code_policy(value):
    with _lock:
        _code_policy[0] = None if value is None else check_gru_policy(value, "gru_policy")


def _absl_flag(name):
    """The value of an absl flag the user set on the command line, else None."""
    if "absl.flags" not in sys.modules:     # never import absl for this: no flags parsed then
        return None
    try:
        from absl import flags
        registry = flags.FLAGS
        if name in registry and registry.is_parsed() and registry[name].present:
            return registry[name].value
    except Exception:  # absl missing or an app with its own flag handling: no flag value
        pass
    return None


def define_absl_flags():
    """Declare the two flags so absl apps can pass them; harmless when absl is unused."""
    try:
        from absl import flags
    except ImportError:
        return
    registry = flags.FLAGS
    if FLAG_GRU_POLICY not in registry:
        flags.DEFINE_enum(FLAG_GRU_POLICY, None, list(GRU_POLICIES),
                          "tf_rnn_dropout_fix: what to do with GRU state dropout.")
    if FLAG_SWITCH not in registry:
        flags.DEFINE_bool(FLAG_SWITCH, None,
                          "tf_rnn_dropout_fix: --notf_rnn_dropout_fix builds stock wrappers.")


def gru_policy():
    """(policy, source) in force now; raises ValueError for a bad environment value."""
    if _code_policy[0] is not None:
        return _code_policy[0], "code"
    flag = _absl_flag(FLAG_GRU_POLICY)
    if flag is not None:
        return check_gru_policy(flag, "--" + FLAG_GRU_POLICY), "flag"
    env = os.environ.get(ENV_GRU_POLICY)
    if env is not None and env.strip():
        return check_gru_policy(env, ENV_GRU_POLICY), "environment"
    return DEFAULT_GRU_POLICY, "default"


def env_switch_on():
    """False when TF_RNN_DROPOUT_FIX asks for no patch at import; ValueError for junk."""
    value = os.environ.get(ENV_SWITCH, "").strip().lower()
    if value in _OFF_VALUES:
        return False
    if value in _ON_VALUES:
        return True
    raise ValueError("%s=%r is not understood; use 'off' (or 0/false) to skip the patch at "
                     "import, or leave it unset." % (ENV_SWITCH, os.environ.get(ENV_SWITCH)))


def corrections_active():
    """False inside disabled() or when the absl switch flag turned the corrections off."""
    if _disabled_depth[0] > 0:
        return False
    return _absl_flag(FLAG_SWITCH) is not False


def enter_disabled():
    with _lock:
        _disabled_depth[0] += 1


def exit_disabled():
    with _lock:
        _disabled_depth[0] -= 1

"""``status()``: what the package found and did, for a person (``str``) or a script (``as_dict``)."""
import json
import sys

from tf_rnn_dropout_fix import _compat, _config, _keras3_gru, _patching
from tf_rnn_dropout_fix._version import __version__

# sys.version_info, not the platform module: TF 1.10 never imports ``platform``, and the
# package must not import anything TF itself does not (tests/test_import.py).
PYTHON_VERSION = "%d.%d.%d" % sys.version_info[:3]


class Status(object):
    """A snapshot of the patch state.  ``str(status)`` is a report, ``as_dict()`` JSON-able."""

    def __init__(self, tf_version, compat_layer, patched, problem, policy, policy_source,
                 wrappers, gru_cells, keras3_gru=None, tf_installed=None, loaded_later=(),
                 keras_problem=None, setting_problems=()):
        self.tf_version = tf_version
        self.compat_layer = compat_layer
        self.patched = patched
        self.problem = problem
        self.policy = policy
        self.policy_source = policy_source
        self.wrappers = wrappers
        self.gru_cells = gru_cells
        self.keras3_gru = keras3_gru     # Keras 3's own GRUCell recurrent_dropout, or None
        self.tf_installed = tf_installed      # the installed version when not imported yet
        self.loaded_later = list(loaded_later)
        self.keras_problem = keras_problem
        self.setting_problems = list(setting_problems)

    def as_dict(self):
        return {
            "package_version": __version__,
            "python": PYTHON_VERSION,
            "tf_version": self.tf_version,
            "compat_layer": self.compat_layer,
            "patched": self.patched,
            "problem": self.problem,
            "gru_policy": self.policy,
            "gru_policy_source": self.policy_source,
            "wrappers": [dict(w) for w in self.wrappers],
            "gru_cells": list(self.gru_cells),
            "keras3_gru_recurrent_dropout": self.keras3_gru,
            "tf_installed_not_imported": self.tf_installed,
            "loaded_later": [{"package": p, "reached_as": r, "corrected_when_imported":
                              self.patched} for p, r in self.loaded_later],
            "keras_problem": self.keras_problem,
            "setting_problems": list(self.setting_problems),
        }

    def to_json(self):
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)

    def __str__(self):
        if self.tf_version:
            tf_line = "TensorFlow: %s (%s)" % (self.tf_version, self.compat_layer)
        elif self.tf_installed and self.problem and _compat.IMPORT_FAILED in self.problem:
            tf_line = "TensorFlow: %s installed, fails to import" % self.tf_installed
        elif self.tf_installed:
            tf_line = "TensorFlow: %s installed, not imported yet" % self.tf_installed
        else:
            tf_line = "TensorFlow: not installed"
        lines = [
            "tf_rnn_dropout_fix %s on Python %s" % (__version__, PYTHON_VERSION),
            tf_line,
            "patched: %s%s" % ("yes" if self.patched else "no",
                               "" if not self.problem else " (%s)" % self.problem),
            "GRU policy: %s (from %s)" % (self.policy, self.policy_source),
        ]
        for problem in self.setting_problems:
            lines.append("PROBLEM: %s" % problem)
        lines.append("DropoutWrapper classes:")
        for wrapper in self.wrappers or []:
            lines.append("  %-9s %s" % ("corrected" if wrapper["corrected"] else "STOCK",
                                        wrapper["class"]))
            for alias in wrapper["aliases"]:
                lines.append("            reached as tf.%s" % alias)
        if not self.wrappers:
            lines.append("  (none loaded)")
        for package, reach in self.loaded_later:
            lines.append("  %s %s (%s): loads later" % (
                "corrected when imported:" if self.patched else "STOCK when imported:",
                package, reach))
        lines.append("GRU cells rerouted: %s" % (", ".join(self.gru_cells) or "none"))
        if self.keras3_gru:
            lines.append("Keras 3 GRU recurrent_dropout: %s" % self.keras3_gru)
        if self.keras_problem:
            lines.append("Keras 3 stack: %s" % self.keras_problem)
            if not _compat.legacy_keras_on():
                lines.append("  work here: " + "; ".join(_compat.KERAS3_PATHS_WORKING))
                lines.append("  need tf_keras: " + "; ".join(_compat.KERAS3_PATHS_NEEDING_TF_KERAS))
        return "\n".join(lines)

    def __repr__(self):
        return "<tf_rnn_dropout_fix.Status patched=%s tf=%s>" % (self.patched, self.tf_version)


def _is_corrected(cls):
    return any((base, "__init__") in _patching._saved for base in cls.__mro__)


def setting_problems():
    """Every environment setting the package cannot use, one sentence each (never raises)."""
    problems = []
    for check in (_config.gru_policy, _config.env_switch_on):
        try:
            check()
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def build(problem):
    """A Status for now; ``problem`` is why the patch is not in force (None when it is)."""
    tf = sys.modules.get("tensorflow")
    try:
        policy, source = _config.gru_policy()
    except ValueError as exc:
        policy, source = "invalid", str(exc)
    settings = setting_problems()
    if tf is None:
        installed = _compat.installed_tf_version() if _compat.is_installed("tensorflow") \
            else None
        if installed is None and _compat.is_installed("tensorflow"):
            installed = "(version unknown)"
        return Status(None, "none", False, problem, policy, source, [], [],
                      tf_installed=installed, setting_problems=settings,
                      keras_problem=_compat.keras_problem(_compat.parse_version(installed)))
    version = _compat.tf_version_string(tf)
    line = _compat.parse_version(version)
    layer = "TF %s, Keras: %s" % ("%d.%d" % line if line else "?", _compat.keras_flavour(line))
    aliases = {}
    for path in _compat.PUBLIC_ALIASES:
        target = _compat.resolve_alias(tf, path)
        if isinstance(target, type):
            aliases.setdefault(target, []).append(path)
    wrappers, seen = [], set()
    for module in _compat.loaded_candidate_modules():
        for cls in _compat.public_wrapper_classes(module):
            if cls in seen:
                continue
            seen.add(cls)
            wrappers.append({"class": _compat.qualified_name(cls),
                             "aliases": aliases.get(cls, []),
                             "corrected": _is_corrected(cls)})
    wrappers.sort(key=lambda w: w["class"])
    gru = sorted(_compat.qualified_name(cls) for cls, name in _patching._order if name == "call")
    return Status(version, layer, _patching.is_patched(), problem, policy, source, wrappers, gru,
                  _keras3_gru.status_line(_patching._saved),
                  loaded_later=_compat.copies_loaded_later(line),
                  keras_problem=_compat.keras_problem(line), setting_problems=settings)

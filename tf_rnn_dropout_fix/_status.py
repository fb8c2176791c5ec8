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
                 wrappers, gru_cells, keras3_gru=None):
        self.tf_version = tf_version
        self.compat_layer = compat_layer
        self.patched = patched
        self.problem = problem
        self.policy = policy
        self.policy_source = policy_source
        self.wrappers = wrappers
        self.gru_cells = gru_cells
        self.keras3_gru = keras3_gru     # Keras 3's own GRUCell recurrent_dropout, or None

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
        }

    def to_json(self):
        return json.dumps(self.as_dict(), indent=2, sort_keys=True)

    def __str__(self):
        lines = [
            "tf_rnn_dropout_fix %s on Python %s" % (__version__, PYTHON_VERSION),
            "TensorFlow: %s (%s)" % (self.tf_version or "not available", self.compat_layer),
            "patched: %s%s" % ("yes" if self.patched else "no",
                               "" if not self.problem else " (%s)" % self.problem),
            "GRU policy: %s (from %s)" % (self.policy, self.policy_source),
            "DropoutWrapper classes:",
        ]
        for wrapper in self.wrappers or []:
            lines.append("  %-9s %s" % ("corrected" if wrapper["corrected"] else "STOCK",
                                        wrapper["class"]))
            for alias in wrapper["aliases"]:
                lines.append("            reached as tf.%s" % alias)
        if not self.wrappers:
            lines.append("  (none loaded)")
        lines.append("GRU cells rerouted: %s" % (", ".join(self.gru_cells) or "none"))
        if self.keras3_gru:
            lines.append("Keras 3 GRU recurrent_dropout: %s" % self.keras3_gru)
        return "\n".join(lines)

    def __repr__(self):
        return "<tf_rnn_dropout_fix.Status patched=%s tf=%s>" % (self.patched, self.tf_version)


def _is_corrected(cls):
    return any((base, "__init__") in _patching._saved for base in cls.__mro__)


def build(problem):
    """A Status for now; ``problem`` is why the patch is not in force (None when it is)."""
    tf = sys.modules.get("tensorflow")
    try:
        policy, source = _config.gru_policy()
    except ValueError as exc:
        policy, source = "invalid", str(exc)
    if tf is None:
        return Status(None, "none", False, problem, policy, source, [], [])
    version = _compat.tf_version_string(tf)
    line = _compat.parse_version(version)
    layer = "TF %s, Keras: %s" % ("%d.%d" % line if line else "?", _compat.keras_flavour())
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
                  _keras3_gru.status_line(_patching._saved))

"""The rules: which calls are reported, with which code, severity and message.

What the package does for each GRU family (reroute, or only warn, and from which TF release)
is read from ``_compat.GRU_FAMILIES``, the table the runtime uses, so the advice given here is
what ``import tf_rnn_dropout_fix`` will do.
"""
import collections

from tf_rnn_dropout_fix import _compat
from tf_rnn_dropout_fix._scan import _resolve, _source
from tf_rnn_dropout_fix._scan._names import HIDDEN, argument, literal
from tf_rnn_dropout_fix._scan._resolve import GRU_FAMILIES, source

PROBLEM, NOTE, NOT_SCANNED = "problem", "note", "not scanned"

# code -> (severity, title, SARIF level).  Problems set the exit status; docs and --help list
# these.
RULES = collections.OrderedDict([
    ("TRD101", (PROBLEM, "GRU state dropout, variational: the carried state overflows (inf, "
                         "then a NaN loss)", "error")),
    ("TRD102", (PROBLEM, "LSTM memory dropout, concatenated state (state_is_tuple=False)",
                "error")),
    ("TRD103", (PROBLEM, "LSTM memory dropout, Keras LSTMCell [h, c] state", "error")),
    ("TRD104", (PROBLEM, "GRU state dropout, per step: units of the carried state are zeroed "
                         "and forget what they held (memory loss, no overflow)", "warning")),
    ("TRD105", (PROBLEM, "Keras 3.0 - 3.7 GRU(recurrent_dropout=...): Keras masks the carried "
                         "state, which overflows (only with --keras-version 3.0 - 3.7)",
                "error")),
    ("TRD201", (NOTE, "LSTM memory dropout, tuple state: TF < 1.4 only (a problem with "
                      "--tf-version below 1.4, hidden with 1.4 or later)", "note")),
    ("TRD202", (NOTE, "state dropout on a cell the scan cannot identify: check that it is not "
                      "a GRU or a concatenated LSTM", "note")),
    ("TRD900", (NOT_SCANNED, "a file that cannot be read or parsed (does not set the exit "
                             "status by itself)", "warning")),
])
CODES = collections.OrderedDict((code, rule[:2]) for code, rule in RULES.items())

_FIX_IMPORT = "`import tf_rnn_dropout_fix`"
_KERAS3_GRU = _compat.KERAS3_GRU_CARRIED_STATE_DROPOUT


class Finding(object):
    """One reported call (or one file that could not be scanned)."""

    def __init__(self, path, line, col, code, message, severity, cell=None):
        self.path, self.line, self.col = path, line, col
        self.code, self.message, self.severity, self.cell = code, message, severity, cell

    def as_dict(self):
        return collections.OrderedDict([
            ("path", self.path), ("line", self.line), ("col", self.col), ("code", self.code),
            ("severity", self.severity), ("cell", self.cell), ("message", self.message)])

    def __str__(self):
        return "%s:%d:%d: %s %s" % (self.path, self.line, self.col, self.code, self.message)

    def __repr__(self):
        return "<Finding %s>" % self


def version_option(text):
    """(major, minor) of a ``--tf-version`` / ``--keras-version`` value such as '1.15';
    raises ValueError naming the expected form."""
    parts = str(text).strip().split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        raise ValueError("expected a version like 1.3, 2.15 or 3.6, got %r" % (text,))


def not_scanned(path, line, col, reason):
    return Finding(path, line, col, "TRD900", "file not scanned: %s" % reason, NOT_SCANNED)


def _version(version):
    return "%d.%d" % version


def _gru_fix(cell, tf_version):
    """What to do, given what the package does for this family on this TF."""
    if cell.kind == "gru-custom":
        return ("tf_rnn_dropout_fix cannot reroute %s (not a TF GRU family, or a subclass with "
                "its own step): it only warns. Set state_keep_prob=1.0 and drop h inside the "
                "step only where it enters the recurrent matrix products, or build on "
                "tf.nn.rnn_cell.GRUCell, which the package reroutes" % cell.short)
    if cell.kind == "gru-keras":
        return (_FIX_IMPORT + " (reroutes it while the GRUCell has no dropout of its own) or "
                "GRUCell(recurrent_dropout=...) instead of state_keep_prob")
    fused, since = GRU_FAMILIES[cell.family]
    if tf_version is not None and tf_version < since:
        return ("on TF %s tf_rnn_dropout_fix cannot reroute %s (it does from TF %s), it only "
                "warns: use tf.nn.rnn_cell.GRUCell or state_keep_prob=1.0"
                % (_version(tf_version), cell.name, _version(since)))
    older = "" if since <= _compat.SUPPORTED[0] or tf_version is not None else (
        "; before TF %s it only warns for %s" % (_version(since), cell.family))
    return (_FIX_IMPORT + " (reroutes the mask into the GRU step%s) or gate_keep_prob instead "
            "of state_keep_prob" % older)


def _names_of(cells, call_path, call_line):
    """'GRUCell (line 6)', 'MyGRUCell (pkg/layers.py:12) or LSTMCell(...) (line 9)'."""
    seen, names = set(), []
    for cell in cells:
        if cell.path != call_path:
            where = " (%s:%d)" % (cell.path, cell.line)
        else:
            where = "" if cell.line == call_line else " (line %d)" % cell.line
        text = cell.name + where
        if text not in seen:
            seen.add(text)
            names.append(text)
    return " or ".join(names[:3]) + (" (and %d more)" % (len(names) - 3) if names[3:] else "")


def _message(code, call_text, cells_text, cells, variational, tf_version):
    call = "%s on %s" % (call_text, cells_text)
    if code == "TRD101":
        return ("GRU state dropout, variational: %s scales the carried GRU state by the same "
                "1/keep at every step until it overflows (inf, then a NaN loss); fix: %s"
                % (call, _gru_fix(cells[0], tf_version)))
    if code == "TRD104":
        return ("GRU state dropout, per step: %s zeroes units of the carried GRU state at "
                "random steps, and a zeroed unit forgets what it held (memory loss, no "
                "overflow); fix: %s" % (call, _gru_fix(cells[0], tf_version)))
    if code == "TRD102":
        return ("LSTM memory dropout: %s drops the memory c in the concatenated state, %s; "
                "fix: %s (drops only h) or state_is_tuple=True"
                % (call, "which then overflows" if variational else "which then forgets",
                   _FIX_IMPORT))
    if code == "TRD103":
        return ("LSTM memory dropout: %s drops the Keras [h, c] state, memory c included; fix: "
                "LSTMCell(recurrent_dropout=...) instead of state_keep_prob" % call)
    if code == "TRD201":
        return "note: on TF < 1.4, %s also drops the LSTM memory c; fix: %s or TF >= 1.4" % (
            call, _FIX_IMPORT)
    return ("note: %s, a cell the scan cannot identify: check that it is not a GRU or an LSTM "
            "with state_is_tuple=False (%s corrects both), then silence this line with "
            "`# noqa: TRD202`" % (call, _FIX_IMPORT))


_KIND_CODES = {"gru": "TRD101", "gru-keras": "TRD101", "gru-custom": "TRD101",
               "lstm-concat": "TRD102", "lstm-keras": "TRD103", "lstm-tuple": "TRD201",
               "unknown": "TRD202"}


def _state_dropout(resolver, call, scope, position):
    """The state_keep_prob expression when the call drops state, else None."""
    keep = argument(call, 3, "state_keep_prob")
    if keep is None or keep is HIDDEN or resolver.always(keep, scope, position, 1):
        return None
    return keep


def _variational(resolver, call, scope, position):
    """(is variational, its source): an unknown value counts as variational (the worse case)."""
    flag = argument(call, 4, "variational_recurrent")
    if flag is None:
        return False, None
    if flag is HIDDEN:
        return True, "?"
    value = literal(flag)
    if value is not _resolve._names.NOT_LITERAL:
        return bool(value), source(flag)
    return not resolver.always(flag, scope, position, 0), source(flag)


class Judge(object):
    """Applies the rules to the calls of the modules of one project."""

    def __init__(self, resolver, tf_version=None, keras_version=None):
        self.resolver, self.tf_version, self.keras_version = resolver, tf_version, keras_version
        low, fixed = _KERAS3_GRU
        self.keras3_gru = keras_version is not None and low <= keras_version < fixed

    def module_findings(self, module):
        binder = module.binder
        if binder is None:
            return [not_scanned(module.path, *module.error)]
        lines = module.lines()
        findings = []
        for call, scope, position in binder.calls:
            for code, message, cell in self._call_findings(module, call, scope, position):
                line_text = lines[call.lineno - 1] if call.lineno <= len(lines) else ""
                if _source.suppressed(line_text, code):
                    continue
                findings.append(Finding(module.path, call.lineno,
                                        _source.column(line_text, call.col_offset), code,
                                        message, self._severity(code), cell))
        findings.sort(key=lambda f: (f.line, f.col, f.code))
        return findings

    def _severity(self, code):
        if code == "TRD201" and self.tf_version is not None:
            return PROBLEM
        return CODES[code][0]

    def _call_findings(self, module, call, scope, position):
        if self.keras3_gru:
            for found in self._keras3_gru(call, scope, position):
                yield found
        keep = _state_dropout(self.resolver, call, scope, position)
        built = keep is not None and self.resolver.builds(call, scope, position,
                                                          _resolve.DROPOUT_WRAPPERS)
        if not built:
            return
        wrapper = built[0]
        variational, flag = _variational(self.resolver, call, scope, position)
        call_text = "%s(state_keep_prob=%s%s)" % (
            wrapper, source(keep), ", variational_recurrent=%s" % flag if flag else "")
        by_code = collections.OrderedDict()
        for cell in self.resolver.cells(argument(call, 0, "cell"), scope, position):
            code = _KIND_CODES[cell.kind]
            if code == "TRD101" and not variational:
                code = "TRD104"
            if code == "TRD201" and self.tf_version is not None and self.tf_version >= (1, 4):
                continue
            by_code.setdefault(code, []).append(cell)
        if "TRD202" in by_code and len(by_code) > 1:
            del by_code["TRD202"]           # the cells it can name say enough
        for code, cells in by_code.items():
            cells_text = _names_of(cells, module.path, call.lineno)
            yield (code, _message(code, call_text, cells_text, cells, variational,
                                  self.tf_version), cells_text)

    def _keras3_gru(self, call, scope, position):
        """TRD105: keras.layers.GRU / GRUCell(recurrent_dropout=x), x not 0, on Keras 3.0-3.7."""
        rate = argument(call, None, "recurrent_dropout")
        if rate is None or rate is HIDDEN or self.resolver.always(rate, scope, position, 0):
            return
        for target in self.resolver.callees(call.func, scope, position):
            found = target[0] == "path" and _resolve.tf_class(target[1])
            if found and found[1] and found[0] in ("GRU", "GRUCell"):
                yield ("TRD105", "Keras 3 GRU recurrent dropout: %s(recurrent_dropout=%s) on "
                       "Keras %s masks the carried state h itself (keras-team/keras#20276), "
                       "which grows until it overflows; fix: %s (Keras 3.8's semantics) or "
                       "keras>=%s" % (found[0], source(rate), _version(self.keras_version),
                                      _FIX_IMPORT, _version(_KERAS3_GRU[1])), found[0])
                return

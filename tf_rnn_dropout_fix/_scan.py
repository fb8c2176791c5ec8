"""``tf-rnn-dropout-fix scan``: find state dropout that reaches a GRU state or an LSTM memory.

A static audit: files are parsed, never imported or run, and TensorFlow is not needed.  For every
``DropoutWrapper`` / ``RNNCellDropoutWrapper`` call with state dropout (``state_keep_prob``
given, by keyword or as the fourth positional argument, and not the literal 1), the wrapped cell
is traced back through the file: constructor calls, local names, ``self.`` attributes,
``MultiRNNCell([...])`` lists and comprehensions, ``append``, pass-through wrappers, local
functions that return a cell, and user subclasses.  A cell the file does not reveal (a function
parameter, an import from another module) is not reported.

Legacy TF1 code is often Python 2.  A file this interpreter cannot parse is tokenized and its
Python 2-only statements blanked out (``print x``, ``exec s``, ``except E, e``, ``raise E, m``,
backticks, ``0777``, ``10L``, ``ur''``, ``<>``) with every other character left where it was, so
the positions reported are those of the original file.  A file that still cannot be parsed is
reported as TRD900 and the scan goes on.
"""
import ast
import collections
import io
import os
import re
import tokenize

from tf_rnn_dropout_fix import _pycompat

PROBLEM, NOTE, NOT_SCANNED = "problem", "note", "not scanned"

# code -> (severity, title).  Problems set the exit status; the README and --help list these.
CODES = collections.OrderedDict([
    ("TRD101", (PROBLEM, "GRU state dropout: the carried state overflows (inf, then a NaN "
                         "loss)")),
    ("TRD102", (PROBLEM, "LSTM memory dropout, concatenated state (state_is_tuple=False)")),
    ("TRD103", (PROBLEM, "LSTM memory dropout, Keras LSTMCell [h, c] state")),
    ("TRD201", (NOTE, "LSTM memory dropout, tuple state: TF < 1.4 only (a problem with "
                      "--tf-version below 1.4, hidden with 1.4 or later)")),
    ("TRD900", (NOT_SCANNED, "a file that cannot be read or parsed (does not set the exit "
                             "status by itself)")),
])

_TF_ROOTS = ("tensorflow", "tensorflow_core", "keras", "tf_keras")
_DROPOUT_WRAPPERS = ("DropoutWrapper", "RNNCellDropoutWrapper")
# Wrappers whose state is the wrapped cell's state (or contains it): look through them.
_PASS_THROUGH = ("ResidualWrapper", "DeviceWrapper", "RNNCellResidualWrapper",
                 "RNNCellDeviceWrapper", "HighwayWrapper", "AttentionCellWrapper",
                 "AttentionWrapper", "InputProjectionWrapper", "OutputProjectionWrapper",
                 "EmbeddingWrapper") + _DROPOUT_WRAPPERS
_STACKS = ("MultiRNNCell", "StackedRNNCells")
# GRUCell (TF layout) is rerouted by the package; the others fall back to its warn policy.
_GRU_CELLS = ("GRUCell", "GRUBlockCell", "GRUBlockCellV2", "CudnnCompatibleGRUCell")
_LSTM_WITH_TUPLE_OPTION = ("LSTMCell", "BasicLSTMCell", "CoupledInputForgetGateLSTMCell",
                           "TimeFreqLSTMCell", "GridLSTMCell")
_LSTM_TUPLE_ONLY = ("LSTMBlockCell", "CudnnCompatibleLSTMCell", "LayerNormBasicLSTMCell",
                    "LayerNormLSTMCell", "NASCell")

_SKIPPED_DIRS = (".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".eggs", "__pycache__",
                 "site-packages", "dist-packages", "node_modules")
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z0-9, ]+))?", re.I)

_FIX_IMPORT = "`import tf_rnn_dropout_fix`"
_FIXES = {
    "gru": _FIX_IMPORT + " (reroutes the mask into the GRU step) or gate_keep_prob instead of "
                         "state_keep_prob",
    "gru-fallback": "gate_keep_prob instead of state_keep_prob (tf_rnn_dropout_fix cannot "
                    "reroute %s, it only warns)",
    "gru-keras": "GRUCell(recurrent_dropout=...) instead of state_keep_prob",
    "lstm-concat": _FIX_IMPORT + " (drops only h) or state_is_tuple=True",
    "lstm-keras": "LSTMCell(recurrent_dropout=...) instead of state_keep_prob",
    "lstm-tuple": _FIX_IMPORT + " or TF >= 1.4",
}
_WHAT = {
    "gru": "GRU state dropout: %s scales the carried GRU state every step until it overflows "
           "(NaN loss)",
    "lstm-concat": "LSTM memory dropout: %s drops the memory c in the concatenated state, which "
                   "then overflows",
    "lstm-keras": "LSTM memory dropout: %s drops the Keras [h, c] state, memory c included",
    "lstm-tuple": "note: on TF < 1.4, %s also drops the LSTM memory c",
}
_KIND_CODES = {"gru": "TRD101", "gru-fallback": "TRD101", "gru-keras": "TRD101",
               "lstm-concat": "TRD102", "lstm-keras": "TRD103", "lstm-tuple": "TRD201"}


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


# --- Walking a code base -----------------------------------------------------------------------

def _is_environment(directory):
    """A virtualenv, venv or conda environment: third-party code, not the code base."""
    return any(os.path.exists(os.path.join(directory, marker)) for marker in
               ("pyvenv.cfg", "conda-meta", os.path.join("bin", "activate"),
                os.path.join("Scripts", "activate.bat")))


def python_files(path):
    """``path`` itself if it is a file (whatever its name), else the *.py files under it."""
    if not os.path.isdir(path):
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS
                         and not _is_environment(os.path.join(root, d)))
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(root, name)


def scan_paths(paths, tf_version=None):
    """(findings, number of files scanned) for files and directories, in walking order.

    ``tf_version``: the (major, minor) the code runs on, when known: it decides TRD201.
    """
    findings, count = [], 0
    for path in paths:
        for filename in python_files(path):
            count += 1
            findings.extend(scan_file(filename, tf_version))
    return findings, count


def scan_file(path, tf_version=None):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        return [_not_scanned(path, 1, 1, "cannot be read (%s)" % exc)]
    return scan_source(_decode(data), path, tf_version)


def _decode(data):
    """Source bytes to text: the coding cookie (PEP 263) or UTF-8, else Latin-1.

    Python 2 files often hold Latin-1 bytes in comments without a cookie; Latin-1 decodes any
    byte, and the code we look for is ASCII.
    """
    try:
        encoding, _ = _pycompat.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return data.decode("latin-1")


def _not_scanned(path, line, col, reason):
    return Finding(path, line, col, "TRD900", "file not scanned: %s" % reason, NOT_SCANNED)


# --- Parsing, Python 2 included ----------------------------------------------------------------

def parse(text):
    """The module's AST, reading Python 2 syntax too; raises SyntaxError when nothing works."""
    error = None
    for attempt in (lambda: text, lambda: python2_rewrite(text),
                    lambda: python2_rewrite(_expand_leading_tabs(text))):
        try:
            return _pycompat.parse_source(attempt())
        except SyntaxError as exc:          # IndentationError and TabError included
            error = exc
        except (ValueError, tokenize.TokenError, _pycompat.RecursionError) as exc:   # NUL bytes, ...
            error = error or SyntaxError("%s: %s" % (type(exc).__name__, exc))
    raise error


def _expand_leading_tabs(text):
    """Python 2 read a tab as indentation to the next multiple of 8; Python 3 refuses mixtures."""
    lines = io.StringIO(text).readlines()
    for index, line in enumerate(lines):
        body = line.lstrip(" \t")
        lines[index] = line[:len(line) - len(body)].expandtabs(8) + body
    return "".join(lines)


_COMPOUND_STATEMENTS = ("if", "elif", "else", "for", "while", "try", "except", "finally",
                        "with", "def", "class")


def _statements(tokens):
    """Split significant tokens into simple statements and compound-statement headers."""
    statement, depth = [], 0
    for token in tokens:
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if statement:
                yield statement
            statement, depth = [], 0
            continue
        if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            continue
        if token.type == tokenize.OP and token.string in ("(", "[", "{"):
            depth += 1
        elif token.type == tokenize.OP and token.string in (")", "]", "}"):
            depth = max(depth - 1, 0)
        elif depth == 0 and token.type == tokenize.OP and (
                token.string == ";" or token.string == ":" and statement
                and statement[0].string in _COMPOUND_STATEMENTS):
            yield statement + [token]
            statement = []
            continue
        statement.append(token)
    if statement:
        yield statement


def python2_rewrite(text):
    """``text`` with Python 2-only syntax blanked out; every other character stays in place."""
    tokens = list(_pycompat.generate_tokens(io.StringIO(text).readline))
    lines = io.StringIO(text).readlines()       # the rows tokenize counts (not str.splitlines)
    token_edits, statement_edits = [], []   # (start, end, replacement written at start)

    def blank(start, end, replacement="", edits=token_edits):
        edits.append((start, end, replacement))

    for statement in _statements(tokens):
        first, rest = statement[0], statement[1:]
        if rest and rest[-1].string in (";", ":") and rest[-1].type == tokenize.OP:
            body = rest[:-1]
        else:
            body = rest
        top_level_comma = _has_top_level_comma(body)
        if first.type == tokenize.NAME and first.string in ("print", "exec") and body \
                and body[0].string != "(":
            blank(first.start, body[-1].end, "pass", statement_edits)   # print x, exec c
        elif first.string == "except" and top_level_comma:
            blank(body[0].start, body[-1].end, "", statement_edits)     # except E, e:
        elif first.string == "raise" and top_level_comma:
            blank(body[0].start, body[-1].end, "", statement_edits)     # raise E, msg
    for previous, token in zip([None] + tokens[:-1], tokens):
        adjacent = previous is not None and previous.end == token.start
        if token.string == "`":
            blank(token.start, token.end)
        elif token.type == tokenize.NUMBER and re.match(r"0\d", token.string):
            blank(token.start, (token.start[0], token.start[1] + 1))      # 0777 (one token)
        elif token.type == tokenize.NUMBER and adjacent and previous.string == "0":
            blank(previous.start, previous.end)                           # 0777 (two tokens)
        elif token.type == tokenize.NAME and adjacent and previous.type == tokenize.NUMBER \
                and token.string in ("L", "l"):
            blank(token.start, token.end)                                 # 10L
        elif token.type == tokenize.STRING and adjacent and previous.type == tokenize.NAME \
                and previous.string.lower() in ("ur", "ru"):
            blank(previous.start, previous.end)                           # ur"..."
        elif token.string == "<>":
            blank(token.start, token.end, "!=")
        elif token.string == ">" and adjacent and previous.string == "<":
            blank(previous.start, token.end, "!=")
        elif token.type == tokenize.NAME and token.string in ("async", "await"):
            blank(token.start, token.end, "_" + token.string[1:])        # names in Python 2
    # Statements last: a blanked statement stays blank whatever its tokens asked for.
    return _apply_edits(lines, token_edits + statement_edits)


def _has_top_level_comma(tokens):
    depth = 0
    for token in tokens:
        if token.string in ("(", "[", "{"):
            depth += 1
        elif token.string in (")", "]", "}"):
            depth -= 1
        elif token.string == "," and depth == 0:
            return True
    return False


def _apply_edits(lines, edits):
    lines = list(lines)
    for (row, col), (end_row, end_col), replacement in edits:
        for number in range(row, end_row + 1):
            line = lines[number - 1]
            body = line.rstrip("\r\n")
            start = col if number == row else 0
            stop = end_col if number == end_row else len(body)
            text = replacement if number == row else ""
            filler = text + " " * (stop - start - len(text))
            lines[number - 1] = line[:start] + filler + line[stop:]
    return "".join(lines)


# --- Names: what each one may hold at a given point of the file ---------------------------------

class _Binding(object):
    """One way a name got a value: kind is import, value, def, class or unknown."""

    def __init__(self, kind, value, scope, position):
        self.kind, self.value, self.scope, self.position = kind, value, scope, position


class _Scope(object):
    def __init__(self, parent, kind):
        self.parent, self.kind = parent, kind     # kind: module, function or class
        self.bindings = collections.defaultdict(list)
        self.returns = []                         # (value, position) of a function's returns

    def bind(self, name, kind, value, position):
        self.bindings[name].append(_Binding(kind, value, self, position))

    def lookup(self, name, position):
        """Bindings that may hold ``name`` at ``position`` (None: anywhere in the scope).

        Every earlier assignment counts, not only the last: an audit prefers "this may be a
        GRU" (``if gru: cell = GRUCell() else: cell = LSTMCell()``) to a miss.
        """
        scope = self
        while scope is not None:
            if name in scope.bindings:
                return [b for b in scope.bindings[name]
                        if position is None or b.position < position]
            scope = scope.parent
            while scope is not None and scope.kind == "class":   # methods skip class scopes
                scope = scope.parent
            position = None         # an enclosing scope has run by the time a function runs
        return []


def _dotted(node):
    """'a.b.c' for a Name or an Attribute chain on a Name, else None."""
    parts = []
    while type(node).__name__ == "Attribute":
        parts.append(node.attr)
        node = node.value
    if type(node).__name__ != "Name":
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Binder(ast.NodeVisitor):
    """Records every binding of the module and every call, with its scope and statement."""

    def __init__(self):
        self.module = self.scope = _Scope(None, "module")
        self.position = (0, 0, 0)      # (line, column, 0) of the statement being visited
        self.attributes = collections.defaultdict(list)    # 'self._cell' -> bindings, file-wide
        self.calls = []                                    # (call, scope, position)

    def visit(self, node):
        if isinstance(node, ast.stmt):
            saved, self.position = self.position, (node.lineno, node.col_offset, 0)
            super(_Binder, self).visit(node)
            self.position = saved
        else:
            super(_Binder, self).visit(node)

    def _bind(self, target, kind, value):
        if type(target).__name__ == "Name":
            self.scope.bind(target.id, kind, value, self.position)
        elif type(target).__name__ == "Attribute" and _dotted(target):
            self.attributes[_dotted(target)].append(
                _Binding(kind, value, self.scope, self.position))
        elif type(target).__name__ in ("Tuple", "List"):
            values = getattr(value, "elts", None)
            pairs = zip(target.elts, values) if values is not None \
                and len(values) == len(target.elts) else [(t, None) for t in target.elts]
            for element, element_value in pairs:
                self._bind(element, "value" if element_value is not None else "unknown",
                           element_value)
        elif type(target).__name__ == "Starred":
            self._bind(target.value, "unknown", None)

    def visit_Import(self, node):
        for alias in node.names:
            if alias.asname:
                self.scope.bind(alias.asname, "import", alias.name, self.position)
            else:
                head = alias.name.split(".")[0]
                self.scope.bind(head, "import", head, self.position)

    def visit_ImportFrom(self, node):
        module = "." * (node.level or 0) + (node.module or "")
        for alias in node.names:
            if alias.name != "*":      # star imports: such names are judged by name alone
                self.scope.bind(alias.asname or alias.name, "import",
                                module + "." + alias.name, self.position)

    def visit_Assign(self, node):
        self.generic_visit(node)
        for target in node.targets:
            self._bind(target, "value", node.value)

    def visit_AnnAssign(self, node):
        self.generic_visit(node)
        if node.value is not None:
            self._bind(node.target, "value", node.value)

    def visit_AugAssign(self, node):            # cells += [GRUCell(n)]
        self.generic_visit(node)
        self._bind(node.target, "value", node.value)

    def visit_NamedExpr(self, node):            # (cell := GRUCell(n)), Python 3.8+
        self.generic_visit(node)
        self._bind(node.target, "value", node.value)

    def visit_For(self, node):                  # for cell in cells: an element of cells
        self._bind(node.target, "value", node.iter)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node):
        self.generic_visit(node)
        if node.optional_vars is not None:
            self._bind(node.optional_vars, "unknown", None)

    def visit_Expr(self, node):                 # cells.append(GRUCell(n)), cells.extend([...])
        self.generic_visit(node)
        call = node.value
        if type(call).__name__ == "Call" and type(call.func).__name__ == "Attribute" \
                and call.func.attr in ("append", "extend", "insert") and call.args:
            self._bind(call.func.value, "value", call.args[-1])

    def visit_comprehension(self, node):       # [DropoutWrapper(c, ...) for c in cells]
        line, column, _ = self.position         # visible to the statement it is part of
        if type(node.target).__name__ == "Name":
            self.scope.bind(node.target.id, "value", node.iter, (line, column, -1))
        self.generic_visit(node)

    def visit_Return(self, node):
        self.generic_visit(node)
        if node.value is not None and self.scope.kind == "function":
            self.scope.returns.append((node.value, self.position))

    def visit_FunctionDef(self, node):
        for item in node.decorator_list + node.args.defaults + node.args.kw_defaults:
            if item is not None:
                self.visit(item)
        outer = self.scope
        self.scope = _Scope(outer, "function")
        arguments = node.args.args + node.args.kwonlyargs + getattr(node.args, "posonlyargs", [])
        for argument in arguments + [node.args.vararg, node.args.kwarg]:
            if argument is not None:
                self.scope.bind(argument.arg, "unknown", None, (0, 0, 0))
        for statement in node.body:
            self.visit(statement)
        function_scope, self.scope = self.scope, outer
        self.scope.bind(node.name, "def", function_scope, self.position)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        for item in node.decorator_list + node.bases:
            self.visit(item)
        outer = self.scope
        self.scope = _Scope(outer, "class")
        for statement in node.body:
            self.visit(statement)
        self.scope = outer
        self.scope.bind(node.name, "class", node, self.position)

    def visit_Call(self, node):
        self.calls.append((node, self.scope, self.position))
        self.generic_visit(node)


# --- What a cell expression may build --------------------------------------------------------------

class _Cell(object):
    """A cell the wrapper may hold: kind (see _KIND_CODES), a description, where it was built."""

    def __init__(self, kind, name, line):
        self.kind, self.name, self.line = kind, name, line

    def within(self, prefix, kind=None):
        return _Cell(kind or self.kind, "%s of %s" % (prefix, self.name), self.line)


def _tf_class(path):
    """(class name, is_keras) when ``path`` may name a TF / Keras class, else None.

    A path whose head the file binds to something else (a user module or class) is not TF;
    a head the file does not bind (a star import, a parameter) is judged by the name alone.
    """
    parts = path.split(".")
    if parts[0].startswith("?"):
        parts[0] = parts[0][1:]
    elif parts[0] not in _TF_ROOTS:
        return None
    keras = any(p in ("keras", "tf_keras") for p in parts) \
        and not any("rnn_cell" in p or "legacy" in p for p in parts)
    return parts[-1], keras


def _literal(node):
    """The value of a number or True/False/None literal (also -1, +1), else _NOT_LITERAL."""
    name = type(node).__name__
    if name == "UnaryOp" and type(node.op).__name__ in ("USub", "UAdd"):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if type(node.op).__name__ == "USub" else value
        return _NOT_LITERAL
    if name == "Num":
        return node.n
    if name in ("Constant", "NameConstant"):
        value = node.value
        return value if value is None or isinstance(value, (bool, int, float)) else _NOT_LITERAL
    return _NOT_LITERAL


_NOT_LITERAL = object()
_HIDDEN = object()       # an argument that *args / **kwargs may hold


def _argument(call, index, keyword):
    """The expression passed as ``keyword`` or at ``index``; None when absent, _HIDDEN when
    ``*args`` / ``**kwargs`` may hold it."""
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    hidden = any(item.arg is None for item in call.keywords)
    for position, argument in enumerate(call.args):
        if type(argument).__name__ == "Starred":
            return _HIDDEN
        if position == index:
            return argument
    return _HIDDEN if hidden else None


def _source(node):
    value = _literal(node)
    if value is not _NOT_LITERAL:
        return repr(value)
    return _dotted(node) or "<expression>"


class _Resolver(object):
    """Follows a cell expression back to the constructors that may have built it."""

    _MAX_DEPTH = 40

    def __init__(self, binder):
        self.binder = binder
        self.memo = {}

    def callees(self, node, scope, position, depth=0):
        """What calling ``node`` may call: ('path', dotted), ('def', scope), ('class', binding)."""
        if depth > self._MAX_DEPTH:
            return []
        kind = type(node).__name__
        if kind == "Name":
            bindings = scope.lookup(node.id, position)
            if not bindings:
                return [("path", "?" + node.id)]
            found = []
            for binding in bindings:
                if binding.kind == "import":
                    found.append(("path", binding.value))
                elif binding.kind == "def":
                    found.append(("def", binding.value))
                elif binding.kind == "class":
                    found.append(("class", binding))
                elif binding.kind == "value":
                    found.extend(self.callees(binding.value, binding.scope, binding.position,
                                              depth + 1))
                else:
                    found.append(("path", "?" + node.id))
            return found
        if kind == "Attribute":     # self.cell_class = GRUCell ... self.cell_class(n)
            assigned = [target for binding in self.binder.attributes.get(_dotted(node) or "", [])
                        if binding.kind == "value"
                        for target in self.callees(binding.value, binding.scope,
                                                   binding.position, depth + 1)]
            return assigned + [("path", path + "." + node.attr)
                               for tag, path in self.callees(node.value, scope, position,
                                                             depth + 1) if tag == "path"]
        if kind == "IfExp":
            return (self.callees(node.body, scope, position, depth + 1)
                    + self.callees(node.orelse, scope, position, depth + 1))
        return []

    def wrapper_name(self, call, scope, position):
        """'DropoutWrapper' or 'RNNCellDropoutWrapper' when ``call`` builds one, else None."""
        for target in self.callees(call.func, scope, position):
            name = self._class_name(target, 0)
            if name in _DROPOUT_WRAPPERS:
                return name
        return None

    def _class_name(self, target, depth):
        """The TF class a callee target builds (through user subclasses), or None."""
        tag, value = target
        if tag == "path":
            found = _tf_class(value)
            return found[0] if found else None
        if tag == "class" and depth < 5:
            for base in value.value.bases:
                for base_target in self.callees(base, value.scope, value.position):
                    name = self._class_name(base_target, depth + 1)
                    if name:
                        return name
        return None

    def cells(self, node, scope, position, depth=0):
        """The cells ``node`` may evaluate to (elements, for a list)."""
        if node is None or node is _HIDDEN or depth > self._MAX_DEPTH:
            return []
        key = (id(node), id(scope), position)
        if key not in self.memo:
            self.memo[key] = []                 # a cycle resolves to nothing
            self.memo[key] = self._cells(node, scope, position, depth)
        return self.memo[key]

    def _cells(self, node, scope, position, depth):
        kind, deeper = type(node).__name__, depth + 1
        if kind == "Call":
            found = []
            for target in self.callees(node.func, scope, position):
                found.extend(self._built_by(target, node, scope, position, deeper, None))
            return found
        if kind == "Name":
            return [cell for binding in scope.lookup(node.id, position) if binding.kind == "value"
                    for cell in self.cells(binding.value, binding.scope, binding.position,
                                           deeper)]
        if kind == "Attribute":
            return [cell for binding in self.binder.attributes.get(_dotted(node) or "", [])
                    for cell in self.cells(binding.value, binding.scope, binding.position,
                                           deeper)]
        children = {"List": "elts", "Tuple": "elts", "Set": "elts", "BoolOp": "values"}
        if kind in children:
            return [cell for child in getattr(node, children[kind])
                    for cell in self.cells(child, scope, position, deeper)]
        single = {"Starred": ("value",), "ListComp": ("elt",), "GeneratorExp": ("elt",),
                  "SetComp": ("elt",), "Subscript": ("value",), "BinOp": ("left", "right"),
                  "IfExp": ("body", "orelse")}
        return [cell for attribute in single.get(kind, ())
                for cell in self.cells(getattr(node, attribute), scope, position, deeper)]

    def _built_by(self, target, call, scope, position, depth, subclass):
        """The cells ``call`` builds when it calls ``target``."""
        tag, value = target
        if tag == "def":
            return [cell for returned, where in value.returns
                    for cell in self.cells(returned, value, where, depth)]
        if tag == "class":
            if depth > 10:
                return []
            return [cell for base in value.value.bases
                    for base_target in self.callees(base, value.scope, value.position)
                    for cell in self._built_by(base_target, call, scope, position, depth + 1,
                                               subclass or value.value.name)]
        found = _tf_class(value)
        if not found:
            return []
        name, keras = found
        label = name if subclass is None else "%s (a %s)" % (subclass, name)
        if name in _PASS_THROUGH:
            return self.cells(_argument(call, 0, "cell"), scope, position, depth)
        if name in _STACKS:
            inner = self.cells(_argument(call, 0, "cells"), scope, position, depth)
            tuple_state = _argument(call, 1, "state_is_tuple")
            if name == "MultiRNNCell" and tuple_state not in (None, _HIDDEN) \
                    and _literal(tuple_state) is not True:
                prefix = "MultiRNNCell(state_is_tuple=%s)" % _source(
                    _argument(call, 1, "state_is_tuple"))
                return [c.within(prefix, "lstm-concat" if c.kind == "lstm-tuple" else None)
                        for c in inner]
            return [c.within(name) for c in inner]
        line = call.lineno
        if name in _GRU_CELLS:
            kind = "gru-keras" if keras else "gru" if name == "GRUCell" else "gru-fallback"
            return [_Cell(kind, ("Keras " if keras else "") + label, line)]
        if name == "LSTMCell" and keras:
            return [_Cell("lstm-keras", "Keras " + label, line)]
        if name in _LSTM_WITH_TUPLE_OPTION:
            state_is_tuple = _argument(call, None, "state_is_tuple")
            if state_is_tuple is None or state_is_tuple is _HIDDEN \
                    or _literal(state_is_tuple) is True:
                return [_Cell("lstm-tuple", label, line)]
            return [_Cell("lstm-concat", "%s(state_is_tuple=%s)" % (label, _source(state_is_tuple)),
                          line)]
        if name in _LSTM_TUPLE_ONLY:
            return [_Cell("lstm-tuple", label, line)]
        return []


# --- Judging the calls -------------------------------------------------------------------------

def _state_dropout(call):
    """The state_keep_prob expression when the call drops state, else None."""
    keep = _argument(call, 3, "state_keep_prob")
    if keep is None or keep is _HIDDEN:
        return None
    value = _literal(keep)
    if value is not _NOT_LITERAL and value == 1:
        return None
    return keep


def _message(kind, wrapper, keep, cell, call_line):
    where = "" if cell.line == call_line else " (line %d)" % cell.line
    call = "%s(state_keep_prob=%s) on %s%s" % (wrapper, _source(keep), cell.name, where)
    fix = _FIXES[kind] % (cell.name,) if "%s" in _FIXES[kind] else _FIXES[kind]
    return "%s; fix: %s" % (_WHAT["gru" if kind.startswith("gru") else kind] % call, fix)


def _column(line_text, byte_offset):
    """AST columns count UTF-8 bytes; report characters, 1-based, as flake8 does."""
    return len(line_text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore")) + 1


def _suppressed(line_text, code):
    match = _NOQA.search(line_text)
    if not match:
        return False
    codes = match.group("codes")
    return codes is None or code in re.split(r"[\s,]+", codes.upper())


def scan_source(text, path="<string>", tf_version=None):
    """Findings for one file's text, in line order."""
    if "DropoutWrapper" not in text:    # every spelling, alias and subclass names it somewhere
        return []
    try:
        tree = parse(text)
    except SyntaxError as exc:
        return [_not_scanned(path, exc.lineno or 1, exc.offset or 1,
                             "cannot be parsed, even as Python 2 (%s)" % (exc.msg or exc))]
    binder = _Binder()
    try:
        binder.visit(tree)
    except _pycompat.RecursionError:
        return [_not_scanned(path, 1, 1, "nested too deeply to analyse")]
    resolver = _Resolver(binder)
    lines = text.split("\n")          # AST line numbers (str.splitlines also splits at \f)
    findings = []
    for call, scope, position in binder.calls:
        keep = _state_dropout(call)
        wrapper = keep is not None and resolver.wrapper_name(call, scope, position)
        if not wrapper:
            continue
        reported = set()
        for cell in resolver.cells(_argument(call, 0, "cell"), scope, position):
            code = _KIND_CODES[cell.kind]
            severity = CODES[code][0]
            if code == "TRD201" and tf_version is not None:
                if tf_version >= (1, 4):
                    continue
                severity = PROBLEM
            line_text = lines[call.lineno - 1] if call.lineno <= len(lines) else ""
            if code in reported or _suppressed(line_text, code):
                continue
            reported.add(code)
            findings.append(Finding(path, call.lineno, _column(line_text, call.col_offset), code,
                                    _message(cell.kind, wrapper, keep, cell, call.lineno),
                                    severity, cell.name))
    findings.sort(key=lambda f: (f.line, f.col, f.code))
    return findings

"""Following a cell expression back to the constructors that may have built it, across modules.

``callees`` answers "what may calling this expression call?" with targets:

* ``("path", "a.b.C")``: something outside the code base (TF, Keras, another library); a path
  starting with ``?`` is a name nothing in the file binds (a star import), judged by name alone;
* ``("def", scope)``: a function or method of the code base (its returns are followed);
* ``("class", binding)``: a class of the code base (its bases and its own step are read);
* ``("partial", target, call)``: ``functools.partial(target, ...)``;
* ``("value", node, scope)``: a module-level value of another module;
* ``("module", module)``; ``("unknown", what)``: a parameter, a configuration lookup, ...

``cells`` answers "which cells may this expression hold?" with ``Cell`` objects, ``unknown``
ones included, so that state dropout on a cell nobody can name is still said.
"""
import ast

from tf_rnn_dropout_fix import _compat
from tf_rnn_dropout_fix._scan import _names
from tf_rnn_dropout_fix._scan._names import HIDDEN, argument, dotted, literal

_TF_ROOTS = ("tensorflow", "tensorflow_core", "keras", "tf_keras")
DROPOUT_WRAPPERS = ("DropoutWrapper", "RNNCellDropoutWrapper")
# Wrappers whose state is the wrapped cell's state (or contains it): look through them.
_PASS_THROUGH = ("ResidualWrapper", "DeviceWrapper", "RNNCellResidualWrapper",
                 "RNNCellDeviceWrapper", "HighwayWrapper", "AttentionCellWrapper",
                 "AttentionWrapper", "InputProjectionWrapper", "OutputProjectionWrapper",
                 "EmbeddingWrapper") + DROPOUT_WRAPPERS
_STACKS = ("MultiRNNCell", "StackedRNNCells")
# The GRU families the runtime knows, with what it does for each (DESIGN 3.3): one table.
GRU_FAMILIES = dict((name, (fused, since)) for name, fused, since in _compat.GRU_FAMILIES)
# LSTM cells with a state_is_tuple option: its position in the constructor's signature.
_STATE_IS_TUPLE_POSITION = {"BasicLSTMCell": 2, "LSTMCell": 9,
                            "CoupledInputForgetGateLSTMCell": 8, "GridLSTMCell": 13,
                            "TimeFreqLSTMCell": None}
_LSTM_TUPLE_ONLY = ("LSTMBlockCell", "CudnnCompatibleLSTMCell", "LayerNormBasicLSTMCell",
                    "LayerNormLSTMCell", "NASCell")
_STEP_METHODS = ("call", "__call__")
_MAX_DEPTH = 40


class Cell(object):
    """A cell the wrapper may hold: kind, a description, where it was built, its TF family.

    kind: gru (a TF GRU family), gru-keras, gru-custom (a GRU the package cannot reroute),
    lstm-concat, lstm-keras, lstm-tuple, unknown.
    """

    def __init__(self, kind, name, path, line, family=None, short=None):
        self.kind, self.name, self.path, self.line, self.family = kind, name, path, line, family
        self.short = short or name          # the class alone, for the advice

    def within(self, prefix, kind=None):
        return Cell(kind or self.kind, "%s of %s" % (prefix, self.name), self.path, self.line,
                    self.family, self.short)


def tf_class(path):
    """(class name, is_keras) when ``path`` may name a TF / Keras class, else None."""
    parts = path.split(".")
    if parts[0].startswith("?"):
        parts[0] = parts[0][1:]
    elif parts[0] not in _TF_ROOTS:
        return None
    keras = any(p in ("keras", "tf_keras") for p in parts) \
        and not any("rnn_cell" in p or "legacy" in p for p in parts)
    return parts[-1], keras


def source(node):
    value = literal(node)
    if value is not _names.NOT_LITERAL:
        return repr(value)
    if type(node).__name__ == "Call" and dotted(node.func):
        return "%s(...)" % dotted(node.func)
    return dotted(node) or "<expression>"


def _is_partial(targets):
    return any(target[0] == "path" and target[1].lstrip("?") in ("partial", "functools.partial")
               for target in targets)


def _merged(partial_call, call):
    """The call ``functools.partial(f, *a, **k)(*b, **l)`` amounts to: ``f(*a, *b, **k, **l)``."""
    keywords = dict((k.arg, k) for k in partial_call.keywords if k.arg is not None)
    keywords.update((k.arg, k) for k in call.keywords if k.arg is not None)
    hidden = [k for k in list(partial_call.keywords) + list(call.keywords) if k.arg is None]
    merged = ast.Call(func=call.func, args=list(partial_call.args[1:]) + list(call.args),
                      keywords=list(keywords.values()) + hidden)
    merged.lineno, merged.col_offset = call.lineno, call.col_offset
    return merged


def _steps_like_gru(class_node):
    """True when the class's step carries its state the GRU way: ``u*h + (1-u)*c``."""
    for method in class_node.body:
        if type(method).__name__ not in ("FunctionDef", "AsyncFunctionDef") \
                or method.name not in _STEP_METHODS or len(method.args.args) < 3:
            continue
        state = method.args.args[2]
        state = getattr(state, "arg", None) or getattr(state, "id", None)
        for node in ast.walk(method):
            if type(node).__name__ == "BinOp" and type(node.op).__name__ == "Add" \
                    and all(_is_product(side) for side in (node.left, node.right)) \
                    and any(_multiplies(side, state) for side in (node.left, node.right)) \
                    and any(_has_one_minus(side) for side in (node.left, node.right)):
                return True
    return False


def _is_product(node):
    return type(node).__name__ == "BinOp" and type(node.op).__name__ == "Mult"


def _multiplies(node, name):
    return any(type(side).__name__ == "Name" and side.id == name for side in (node.left,
                                                                              node.right))


def _has_one_minus(node):
    return any(type(side).__name__ == "BinOp" and type(side.op).__name__ == "Sub"
               and literal(side.left) == 1 for side in (node.left, node.right))


class Resolver(object):
    """Follows names through the modules of one ``Project``."""

    def __init__(self, project):
        self.project = project
        self._callees, self._cells = {}, {}

    # --- what a name or call may refer to ---

    def path_targets(self, path, near, depth=0):
        if path.startswith("?") or depth > _MAX_DEPTH:
            return [("path", path)]
        module, rest = self.project.split(path, near)
        if module is None:
            return [("path", path)]
        return self.attribute_targets(module, rest, depth + 1)

    def attribute_targets(self, module, rest, depth):
        if not rest:
            return [("module", module)]
        binder = module.binder
        if binder is None or depth > _MAX_DEPTH:
            return [("unknown", "%s.%s" % (module.name, ".".join(rest)))]
        found = []
        for binding in binder.root.bindings.get(rest[0], []):
            if binding.kind == "import":
                found.extend(self.path_targets(".".join([binding.value] + rest[1:]), module,
                                               depth + 1))
            elif rest[1:]:
                continue        # Class.attribute of another module: not followed
            elif binding.kind == "def":
                found.append(("def", binding.value))
            elif binding.kind == "class":
                found.append(("class", binding))
            elif binding.kind == "value":
                found.append(("value", binding.value, binding.scope))
        return found or [("unknown", "%s.%s" % (module.name, ".".join(rest)))]

    def callees(self, node, scope, position, depth=0):
        key = (node, scope, position)    # the objects, not their ids: no reuse
        if key not in self._callees:
            self._callees[key] = []                 # a cycle resolves to nothing
            self._callees[key] = self._find_callees(node, scope, position, depth)
        return self._callees[key]

    def _find_callees(self, node, scope, position, depth):
        if depth > _MAX_DEPTH:
            return []
        kind, deeper = type(node).__name__, depth + 1
        if kind == "Name":
            bindings = scope.lookup(node.id, position)
            if not bindings:
                return [("path", "?" + node.id)]
            return [target for binding in bindings
                    for target in self._binding_callees(binding, node.id, deeper)]
        if kind == "Attribute":
            found = self._attribute_bindings(node, scope, deeper, self._binding_callees)
            for target in self.callees(node.value, scope, position, deeper):
                if target[0] == "path":
                    found.extend(self._values_followed(self.path_targets(
                        target[1] + "." + node.attr, scope.module, deeper), deeper))
                elif target[0] == "module":
                    found.extend(self._values_followed(
                        self.attribute_targets(target[1], [node.attr], deeper), deeper))
            return found or [("unknown", dotted(node) or node.attr)]
        if kind == "IfExp":
            return (self.callees(node.body, scope, position, deeper)
                    + self.callees(node.orelse, scope, position, deeper))
        if kind in ("Dict", "List", "Tuple", "Set"):      # CELLS = {"gru": GRUCell, ...}
            children = node.values if kind == "Dict" else node.elts
            return [target for child in children
                    for target in self.callees(child, scope, position, deeper)]
        if kind == "Subscript":                               # CELLS[name](n)
            return self.callees(node.value, scope, position, deeper)
        if kind == "Call":
            return self._call_callees(node, scope, position, deeper)
        if kind == "Lambda":
            return [("def", scope.module.binder.inner_scopes[id(node)])]
        return [("unknown", source(node))]

    def _call_callees(self, call, scope, position, depth):
        """What the value a call returns may call: partial(...), CELLS.get(...), a factory."""
        func = call.func
        if type(func).__name__ == "Attribute" and func.attr == "get" and call.args:
            return self.callees(func.value, scope, position, depth)
        targets = self.callees(func, scope, position, depth)
        if _is_partial(targets) and call.args:
            return [("partial", inner, call)
                    for inner in self.callees(call.args[0], scope, position, depth)]
        found = []
        for target in targets:
            if target[0] == "def":
                found.extend(t for returned, where in target[1].returns
                             for t in self.callees(returned, target[1], where, depth))
            else:
                found.append(("unknown", source(func) + "(...)"))
        return found

    def _values_followed(self, targets, depth):
        """Module-level values of other modules, replaced by what calling them may call."""
        found = []
        for target in targets:
            if target[0] == "value":
                found.extend(self.callees(target[1], target[2], None, depth + 1))
            else:
                found.append(target)
        return found

    def _binding_callees(self, binding, name, depth):
        if binding.kind == "import":
            return self._values_followed(
                self.path_targets(binding.value, binding.scope.module, depth), depth)
        if binding.kind == "def":
            return [("def", binding.value)]
        if binding.kind == "class":
            return [("class", binding)]
        if binding.kind == "value":
            return self.callees(binding.value, binding.scope, binding.position, depth)
        return [("unknown", name)]

    def _attribute_bindings(self, node, scope, depth, follow):
        """``self.x`` / ``cls.x`` / ``Class.x``: what the module assigns to that spelling."""
        binder = scope.module.binder
        key = dotted(node)
        if binder is None or key is None:
            return []
        return [found for binding in binder.attributes.get(key, [])
                for found in follow(binding, key, depth)]

    # --- which class a call builds ---

    def class_name(self, target, depth=0):
        """The TF / Keras class a callee target builds (through subclasses), or None."""
        tag = target[0]
        if tag == "path":
            found = tf_class(target[1])
            return found[0] if found else None
        if tag == "partial":
            return self.class_name(target[1], depth + 1)
        if tag == "class" and depth < 8:
            binding = target[1]
            for base in binding.value.bases:
                for base_target in self.callees(base, binding.scope, binding.position):
                    name = self.class_name(base_target, depth + 1)
                    if name:
                        return name
        return None

    def builds(self, call, scope, position, names):
        """The first of ``names`` (class names) that ``call`` may build, or None."""
        for target in self.callees(call.func, scope, position):
            name = self.class_name(target)
            if name in names:
                return name, target
        return None

    # --- which cells an expression may hold ---

    def cells(self, node, scope, position, depth=0):
        """The cells ``node`` may evaluate to (elements, for a list)."""
        if node is None or node is HIDDEN:
            return []
        if depth > _MAX_DEPTH:
            return [self._unknown(node, scope)]
        key = (node, scope, position)    # the objects, not their ids: no reuse
        if key not in self._cells:
            self._cells[key] = []                 # a cycle resolves to nothing
            self._cells[key] = self._find_cells(node, scope, position, depth)
        return self._cells[key]

    def _unknown(self, node, scope, what=None):
        return Cell("unknown", what or "`%s`" % source(node), scope.module.path,
                    getattr(node, "lineno", 0))

    def _find_cells(self, node, scope, position, depth):
        kind, deeper = type(node).__name__, depth + 1
        if kind == "Call":
            targets = self.callees(node.func, scope, position, deeper)
            if type(node.func).__name__ == "Attribute" and node.func.attr == "get" \
                    and node.args:                   # cells.get(name): a dict of cells
                return self.cells(node.func.value, scope, position, deeper)
            if not targets:
                return [self._unknown(node, scope)]
            return [cell for target in targets
                    for cell in self._built_by(target, node, scope, position, deeper, None)]
        if kind == "Name":
            bindings = scope.lookup(node.id, position)
            if not bindings:
                return [self._unknown(node, scope)]
            return [cell for binding in bindings
                    for cell in self._binding_cells(binding, node, deeper)]
        if kind == "Attribute":
            found = self._attribute_bindings(
                node, scope, deeper, lambda b, key, d: self._binding_cells(b, node, d))
            if found or scope.module.binder.attributes.get(dotted(node) or ""):
                return found
            head = scope.lookup(dotted(node).split(".")[0], position) if dotted(node) else []
            if head and all(b.kind == "import" for b in head):     # module.cell of another file
                return [cell for b in head
                        for target in self.path_targets(
                            ".".join([b.value] + dotted(node).split(".")[1:]),
                            scope.module, deeper)
                        for cell in self._target_cells(target, node, scope, deeper)]
            return [self._unknown(node, scope)]
        children = {"List": "elts", "Tuple": "elts", "Set": "elts", "BoolOp": "values",
                    "Dict": "values"}
        if kind in children:
            return [cell for child in getattr(node, children[kind])
                    for cell in self.cells(child, scope, position, deeper)]
        if kind in ("ListComp", "GeneratorExp", "SetComp"):
            inner = scope.module.binder.inner_scopes.get(id(node), scope)
            return self.cells(node.elt, inner, position, deeper)
        if kind == "DictComp":
            inner = scope.module.binder.inner_scopes.get(id(node), scope)
            return self.cells(node.value, inner, position, deeper)
        single = {"Starred": ("value",), "Subscript": ("value",), "BinOp": ("left", "right"),
                  "IfExp": ("body", "orelse")}
        if kind in single:
            return [cell for attribute in single[kind]
                    for cell in self.cells(getattr(node, attribute), scope, position, deeper)]
        if literal(node) is not _names.NOT_LITERAL or kind in ("Str", "Bytes", "Constant"):
            return []
        return [self._unknown(node, scope)]

    def _binding_cells(self, binding, node, depth):
        if binding.kind == "value":
            return self.cells(binding.value, binding.scope, binding.position, depth)
        if binding.kind == "import":
            return [cell for target in self.path_targets(binding.value, binding.scope.module,
                                                         depth)
                    for cell in self._target_cells(target, node, binding.scope, depth)]
        if binding.kind in ("def", "class"):
            return []                      # a class or function, not a cell instance
        what = "`%s`, a parameter or a with-target" % source(node)
        return [self._unknown(node, binding.scope, what)]

    def _target_cells(self, target, node, scope, depth):
        """The cells a module-level name of another module (or outside the code base) holds."""
        if target[0] == "value":
            return self.cells(target[1], target[2], None, depth)
        if target[0] in ("def", "class", "module"):
            return []
        return [self._unknown(node, scope)]

    def _built_by(self, target, call, scope, position, depth, subclass):
        """The cells ``call`` builds when it calls ``target``."""
        tag = target[0]
        if tag == "def":
            function = target[1]
            return [cell for returned, where in function.returns
                    for cell in self.cells(returned, function, where, depth)]
        if tag == "partial":
            return self._built_by(target[1], _merged(target[2], call), scope, position,
                                  depth + 1, subclass)
        if tag == "class":
            return self._built_by_class(target[1], call, scope, position, depth, subclass)
        if tag in ("unknown", "value", "module"):
            return [self._unknown(call, scope)] if tag != "module" else []
        return self._built_by_path(target[1], call, scope, position, depth, subclass)

    def _built_by_class(self, binding, call, scope, position, depth, subclass):
        """A class of the code base: its bases' family, or GRU-like by name or by its step."""
        if depth > 12:
            return []
        node = binding.value
        label = subclass or node.name
        own_step = any(type(item).__name__ in ("FunctionDef", "AsyncFunctionDef")
                       and item.name in _STEP_METHODS for item in node.body)
        inherited, unknown_bases = [], 0
        for base in node.bases:
            for base_target in self.callees(base, binding.scope, binding.position):
                found = self._built_by(base_target, call, scope, position, depth + 1, label)
                unknown_bases += sum(1 for cell in found if cell.kind == "unknown")
                inherited.extend(cell for cell in found if cell.kind != "unknown")
        if inherited:
            if own_step:    # its own step: the package cannot reroute it, it only warns
                return [Cell("gru-custom", c.name, c.path, c.line, short=label)
                         if c.kind.startswith("gru") else c for c in inherited]
            return inherited
        if "GRU" in node.name.upper() or _steps_like_gru(node):
            return [Cell("gru-custom", "%s (a GRU-like class, %s:%d)"
                         % (label, binding.scope.module.path, node.lineno) if subclass is None
                         else label, scope.module.path, call.lineno, short=label)]
        if unknown_bases:
            return [self._unknown(call, scope, "`%s`, a subclass of a class the scan cannot "
                                               "see" % node.name)]
        return []

    def _built_by_path(self, path, call, scope, position, depth, subclass):
        found = tf_class(path)
        if not found:
            name = path.split(".")[-1]
            if "GRU" in name.upper():       # another library's GRU: the package only warns
                return [Cell("gru-custom", subclass or path.lstrip("?"), scope.module.path,
                             call.lineno)]
            return [self._unknown(call, scope)]
        name, keras = found
        label = name if subclass is None else "%s (a %s)" % (subclass, name)
        module_path, line = scope.module.path, call.lineno
        if name in _PASS_THROUGH:
            return self.cells(argument(call, 0, "cell"), scope, position, depth)
        if name in _STACKS:
            inner = self.cells(argument(call, 0, "cells"), scope, position, depth)
            tuple_state = argument(call, 1, "state_is_tuple")
            if name == "MultiRNNCell" and tuple_state not in (None, HIDDEN) \
                    and literal(tuple_state) is not True:
                prefix = "MultiRNNCell(state_is_tuple=%s)" % source(tuple_state)
                return [c.within(prefix, "lstm-concat" if c.kind == "lstm-tuple" else None)
                        for c in inner]
            return [c.within(name) for c in inner]
        if keras and name == "GRUCell":
            return [Cell("gru-keras", "Keras " + label, module_path, line, name)]
        if name in GRU_FAMILIES:
            return [Cell("gru", label, module_path, line, name)]
        if "GRU" in name.upper():            # UGRNNCell and the like: the runtime only warns
            return [Cell("gru-custom", label, module_path, line)]
        if name == "LSTMCell" and keras:
            return [Cell("lstm-keras", "Keras " + label, module_path, line)]
        if name in _STATE_IS_TUPLE_POSITION:
            state_is_tuple = argument(call, _STATE_IS_TUPLE_POSITION[name], "state_is_tuple")
            if state_is_tuple is None or state_is_tuple is HIDDEN \
                    or literal(state_is_tuple) is True:
                return [Cell("lstm-tuple", label, module_path, line)]
            return [Cell("lstm-concat", "%s(state_is_tuple=%s)" % (label, source(state_is_tuple)),
                         module_path, line)]
        if name in _LSTM_TUPLE_ONLY:
            return [Cell("lstm-tuple", label, module_path, line)]
        return []

    # --- values ---

    def always(self, node, scope, position, value, depth=0):
        """True when ``node`` can only be the literal ``value`` (through local names)."""
        found = literal(node)
        if found is not _names.NOT_LITERAL:
            return found == value and not isinstance(found, bool)
        if type(node).__name__ != "Name" or depth > 10:
            return False
        bindings = scope.lookup(node.id, position)
        return bool(bindings) and all(
            b.kind == "value" and self.always(b.value, b.scope, b.position, value, depth + 1)
            for b in bindings)

"""Names: what each one may hold at a given point of a module, and the calls made in it.

One ``Binder`` walks one module's AST and records, per scope, every way a name gets a value
(``Binding``): an import (stored as an absolute dotted path: relative imports are resolved
against the module's own package here), an assignment, a ``def``, a ``class``, or something
unknowable (a parameter, a ``with ... as`` target).  Comprehensions and lambdas get scopes of
their own, so their variables never leak into the next statement.  Attributes (``self._cell``,
class attributes, methods) are recorded module-wide under their dotted spelling.
"""
import ast
import collections


class Binding(object):
    """One way a name got a value: kind is import, value, def, class or unknown."""

    def __init__(self, kind, value, scope, position):
        self.kind, self.value, self.scope, self.position = kind, value, scope, position


class Scope(object):
    """A module, class, function (lambdas too) or comprehension scope."""

    def __init__(self, parent, kind, module, name=None, node=None):
        self.parent, self.kind, self.module, self.name, self.node = (parent, kind, module, name,
                                                                     node)
        self.bindings = collections.defaultdict(list)
        self.returns = []                         # (value, position) of a function's returns

    def bind(self, name, kind, value, position):
        self.bindings[name].append(Binding(kind, value, self, position))

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
            inline = scope.kind == "comprehension"    # evaluated where it stands
            scope = scope.parent
            while scope is not None and scope.kind == "class":   # methods skip class scopes
                scope = scope.parent
            if not inline:
                position = None     # an enclosing scope has run by the time a function runs
        return []


def dotted(node):
    """'a.b.c' for a Name or an Attribute chain on a Name, else None."""
    parts = []
    while type(node).__name__ == "Attribute":
        parts.append(node.attr)
        node = node.value
    if type(node).__name__ != "Name":
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


NOT_LITERAL = object()
HIDDEN = object()       # an argument that *args / **kwargs may hold


def literal(node):
    """The value of a number or True/False/None literal (also -1, +1), else NOT_LITERAL."""
    name = type(node).__name__
    if name == "UnaryOp" and type(node.op).__name__ in ("USub", "UAdd"):
        value = literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if type(node.op).__name__ == "USub" else value
        return NOT_LITERAL
    if name == "Num":
        return node.n
    if name in ("Constant", "NameConstant"):
        value = node.value
        return value if value is None or isinstance(value, (bool, int, float)) else NOT_LITERAL
    if name == "Name" and node.id in ("True", "False", "None"):      # Python 2
        return {"True": True, "False": False, "None": None}[node.id]
    return NOT_LITERAL


def argument(call, index, keyword):
    """The expression passed as ``keyword`` or at ``index``; None when absent, HIDDEN when
    ``*args`` / ``**kwargs`` may hold it."""
    for item in call.keywords:
        if item.arg == keyword:
            return item.value
    hidden = any(item.arg is None for item in call.keywords) \
        or getattr(call, "kwargs", None) is not None               # Python 2 **kwargs
    for position, value in enumerate(call.args):
        if type(value).__name__ == "Starred":
            return HIDDEN
        if position == index:
            return value
    if index is not None and getattr(call, "starargs", None) is not None:   # Python 2 *args
        return HIDDEN
    return HIDDEN if hidden else None


def _parameter_names(arguments):
    """Every parameter name of a def or lambda, Python 2 (Name nodes, strings) and 3 alike."""
    names = []
    for item in (list(arguments.args) + list(getattr(arguments, "kwonlyargs", []))
                 + list(getattr(arguments, "posonlyargs", []))
                 + [arguments.vararg, arguments.kwarg]):
        if item is None:
            continue
        if isinstance(item, str):
            names.append(item)
        elif type(item).__name__ == "Tuple":                       # def f((a, b)): Python 2
            names.extend(dotted(element) for element in item.elts if dotted(element))
        else:
            names.append(getattr(item, "arg", None) or getattr(item, "id", None))
    return [name for name in names if name]


_START = (0, 0, 0)


class Binder(ast.NodeVisitor):
    """Records every binding of one module and every call, with its scope and statement."""

    def __init__(self, module):
        self.module = module                 # the _project.Module this AST belongs to
        self.scope = self.root = Scope(None, "module", module)
        self.position = _START       # (line, column, 0) of the statement being visited
        self.attributes = collections.defaultdict(list)    # 'self._cell' -> bindings
        self.calls = []                                    # (call, scope, position)
        self.classes = []                                  # class bindings, in order
        self.inner_scopes = {}          # id(comprehension or lambda node) -> its scope

    def visit(self, node):
        if isinstance(node, ast.stmt):
            saved, self.position = self.position, (node.lineno, node.col_offset, 0)
            super(Binder, self).visit(node)
            self.position = saved
        else:
            super(Binder, self).visit(node)

    def _attribute(self, key, kind, value):
        self.attributes[key].append(Binding(kind, value, self.scope, self.position))

    def _bind_name(self, name, kind, value):
        self.scope.bind(name, kind, value, self.position)
        if self.scope.kind == "class":       # class attributes and methods, seen from methods
            for owner in ("self", "cls", self.scope.name):
                self._attribute("%s.%s" % (owner, name), kind, value)

    def _bind(self, target, kind, value):
        target_kind = type(target).__name__
        if target_kind == "Name":
            self._bind_name(target.id, kind, value)
        elif target_kind == "Attribute" and dotted(target):
            self._attribute(dotted(target), kind, value)
        elif target_kind in ("Tuple", "List"):
            values = getattr(value, "elts", None)
            pairs = zip(target.elts, values) if values is not None \
                and len(values) == len(target.elts) else [(t, None) for t in target.elts]
            for element, element_value in pairs:
                self._bind(element, "value" if element_value is not None else "unknown",
                           element_value)
        elif target_kind == "Starred":
            self._bind(target.value, "unknown", None)

    # --- imports: stored absolute ---

    def _package(self, level):
        """The package ``from .`` (level 1), ``from ..`` (2) ... names, relative to this module."""
        parts = self.module.name.split(".") if self.module.name else []
        if not self.module.is_package:
            parts = parts[:-1]
        return parts[:len(parts) - (level - 1)] if level > 1 else parts

    def visit_Import(self, node):
        for alias in node.names:
            if alias.asname:
                self._bind_name(alias.asname, "import", alias.name)
            else:
                head = alias.name.split(".")[0]
                self._bind_name(head, "import", head)

    def visit_ImportFrom(self, node):
        base = node.module or ""
        if node.level:
            base = ".".join(self._package(node.level) + ([base] if base else []))
        for alias in node.names:
            if alias.name != "*":      # star imports: such names are judged by name alone
                self._bind_name(alias.asname or alias.name, "import",
                                (base + "." if base else "") + alias.name)

    # --- assignments ---

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

    def visit_With(self, node):                 # Python 2: the with statement holds the item
        if hasattr(node, "items"):
            self.generic_visit(node)
            return
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._bind(node.optional_vars, "unknown", None)
        for statement in node.body:
            self.visit(statement)

    def visit_Expr(self, node):                 # cells.append(GRUCell(n)), cells.extend([...])
        self.generic_visit(node)
        call = node.value
        if type(call).__name__ == "Call" and type(call.func).__name__ == "Attribute" \
                and call.func.attr in ("append", "extend", "insert") and call.args:
            self._bind(call.func.value, "value", call.args[-1])

    # --- scopes ---

    def _comprehension(self, node, results):
        """[elt for target in iter if ...]: the first iterable runs outside, the rest inside."""
        generators = node.generators
        self.visit(generators[0].iter)
        outer = self.scope
        self.scope = self.inner_scopes[id(node)] = Scope(outer, "comprehension", self.module)
        for index, generator in enumerate(generators):
            if index:
                self.visit(generator.iter)
            line, column, _ = self.position     # visible to the whole comprehension
            saved, self.position = self.position, (line, column, -1)
            self._bind(generator.target, "value", generator.iter)
            self.position = saved
            for condition in generator.ifs:
                self.visit(condition)
        for result in results:
            self.visit(result)
        self.scope = outer

    def visit_ListComp(self, node):
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self._comprehension(node, [node.key, node.value])

    def _function(self, node, name, body):
        outer = self.scope
        self.scope = Scope(outer, "function", self.module, name, node)
        for parameter in _parameter_names(node.args):
            self.scope.bind(parameter, "unknown", None, _START)
        for statement in body:
            self.visit(statement)
        function_scope, self.scope = self.scope, outer
        return function_scope

    def visit_FunctionDef(self, node):
        for item in node.decorator_list + node.args.defaults + list(
                getattr(node.args, "kw_defaults", [])):
            if item is not None:
                self.visit(item)
        self._bind_name(node.name, "def", self._function(node, node.name, node.body))

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        for item in node.args.defaults:
            self.visit(item)
        scope = self.inner_scopes[id(node)] = self._function(node, "<lambda>", [])
        saved, self.scope = self.scope, scope
        self.visit(node.body)
        self.scope = saved
        scope.returns.append((node.body, self.position))

    def visit_ClassDef(self, node):
        for item in node.decorator_list + node.bases:
            self.visit(item)
        outer = self.scope
        self.scope = Scope(outer, "class", self.module, node.name, node)
        for statement in node.body:
            self.visit(statement)
        class_scope, self.scope = self.scope, outer
        self._bind_name(node.name, "class", node)
        binding = self.scope.bindings[node.name][-1]
        binding.class_scope = class_scope
        self.classes.append(binding)

    def visit_Return(self, node):
        self.generic_visit(node)
        if node.value is not None and self.scope.kind == "function":
            self.scope.returns.append((node.value, self.position))

    def visit_Call(self, node):
        self.calls.append((node, self.scope, self.position))
        self.generic_visit(node)

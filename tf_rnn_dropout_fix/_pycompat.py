"""What differs between Python 2.7 and Python 3: the only module that knows.

The legacy TF1 code bases the package serves often still run on Python 2.7 (TF published cp27
wheels up to 2.1), so the package runs there unchanged.  Where Python 2 lacks an API the
package uses, this module gives one spelling for both:

* ``signature``: ``inspect.signature``, from the ``funcsigs`` backport on Python 2 (a
  dependency there, by environment marker);
* ``get_ident``, ``filterfalse``, ``perf_counter``, ``process_time``, ``RecursionError``,
  ``text_type``: names that moved or arrived in Python 3; ``median`` and ``null_context``
  (``statistics.median``, ``contextlib.nullcontext`` of Python 3);
* ``missing_module_name``: which module an ``ImportError`` could not find (``exc.name``);
* ``top_level_module_exists``: ``importlib.util.find_spec``, ``imp.find_module`` on Python 2;
* ``parse_source``, ``generate_tokens``, ``detect_encoding``: what ``scan`` reads source with;
  on Python 2 the syntax tree comes in Python 3's shape (``arg``, ``NameConstant``,
  ``Starred`` and ``**`` keywords in calls, ``withitem``), so the scanner reads one shape;
* ``PostImportHook``: a ``sys.meta_path`` entry that runs a callback right after selected
  modules execute, through ``find_spec``/``exec_module`` on Python 3 and the PEP 302
  ``find_module``/``load_module`` protocol with ``imp`` on Python 2.
"""
import ast
import collections
import contextlib
import itertools
import re
import sys
import time
import tokenize

PY2 = sys.version_info[0] == 2

if PY2:
    import imp
    import thread

    def signature(function):
        """``inspect.signature`` from its backport, imported only when a signature is read, so
        that the scan runs on a bare Python 2.7 too."""
        import funcsigs
        return funcsigs.signature(function)

    get_ident = thread.get_ident
    filterfalse = itertools.ifilterfalse
    perf_counter = time.time        # the best wall clock Python 2 has on Linux
    process_time = time.clock       # processor time on POSIX
    RecursionError = RuntimeError   # "maximum recursion depth exceeded"
    text_type = unicode             # noqa: F821 (a Python 2 builtin)
else:
    import inspect
    import threading

    signature = inspect.signature
    get_ident = threading.get_ident
    filterfalse = itertools.filterfalse
    perf_counter = time.perf_counter
    process_time = time.process_time
    RecursionError = RecursionError
    text_type = str

# --- Reading source (scan) ----------------------------------------------------------------------

_TokenInfo = collections.namedtuple("TokenInfo", "type string start end line")
# PEP 263: a coding declaration in a comment on the first or second line.
_CODING_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


if PY2:
    def generate_tokens(readline):
        """Python 3's named tokens (``type``, ``string``, ``start``, ``end``, ``line``)."""
        return (_TokenInfo(*token) for token in tokenize.generate_tokens(readline))

    def detect_encoding(readline):
        """(encoding, lines read) as Python 3's ``tokenize.detect_encoding``: the cookie, or
        UTF-8 (with a BOM: 'utf-8-sig')."""
        lines, encoding = [], "utf-8"
        for _ in range(2):
            line = readline()
            if not line:
                break
            lines.append(line)
            if len(lines) == 1 and line.startswith(b"\xef\xbb\xbf"):
                encoding = "utf-8-sig"
            match = _CODING_COOKIE.match(line.decode("latin-1"))
            if match:
                import codecs
                try:
                    codecs.lookup(match.group(1))
                except LookupError:
                    raise SyntaxError("unknown encoding: " + match.group(1))
                return match.group(1), lines
            if not line.lstrip().startswith(b"#"):
                break
        return encoding, lines

    def parse_source(text):
        """The syntax tree of ``text`` (unicode), in Python 3's shape."""
        lines = text.split(u"\n", 2)
        for index in range(min(2, len(lines))):     # Python 2 refuses a cookie in unicode
            if _CODING_COOKIE.match(lines[index]):
                lines[index] = u"#" + u" " * (len(lines[index]) - 1)
        try:
            tree = ast.parse(u"\n".join(lines))
        except TypeError as exc:     # "compile() expected string without null bytes"
            raise ValueError(str(exc))
        return _Python3Shape().visit(tree)

    class arg(ast.AST):
        _fields = ("arg", "annotation")

    class NameConstant(ast.expr):
        _fields = ("value",)

    class Starred(ast.expr):
        _fields = ("value", "ctx")

    class withitem(ast.AST):
        _fields = ("context_expr", "optional_vars")

    class With(ast.stmt):
        _fields = ("items", "body")

    _CONSTANTS = {"True": True, "False": False, "None": None}

    class _Python3Shape(ast.NodeTransformer):
        """Python 2's nodes rewritten to the fields Python 3 gives the same code."""

        def visit_Name(self, node):
            if node.id in _CONSTANTS:
                return ast.copy_location(NameConstant(_CONSTANTS[node.id]), node)
            return node

        def visit_Call(self, node):
            self.generic_visit(node)
            if node.starargs is not None:
                node.args.append(ast.copy_location(Starred(node.starargs, ast.Load()),
                                                   node.starargs))
            if node.kwargs is not None:
                node.keywords.append(ast.keyword(None, node.kwargs))
            node.starargs = node.kwargs = None
            return node

        def visit_arguments(self, node):
            self.generic_visit(node)
            node.args = [arg(name, None) for name in _parameter_names(node.args)]
            node.vararg = arg(node.vararg, None) if node.vararg else None
            node.kwarg = arg(node.kwarg, None) if node.kwarg else None
            node.kwonlyargs, node.kw_defaults = [], []
            return node

        def visit_With(self, node):
            self.generic_visit(node)
            item = withitem(node.context_expr, node.optional_vars)
            return ast.copy_location(With([item], node.body), node)

    def _parameter_names(parameters):
        """Names of ``def f(a, (b, c))``: Python 2's parameters are Names or Tuples of them."""
        names = []
        for parameter in parameters:
            if isinstance(parameter, ast.Tuple):
                names.extend(_parameter_names(parameter.elts))
            elif isinstance(parameter, ast.Name):
                names.append(parameter.id)
        return names
else:
    generate_tokens = tokenize.generate_tokens
    detect_encoding = tokenize.detect_encoding
    parse_source = ast.parse


# --- Exceptions ----------------------------------------------------------------------------------

# Python 2 says only "No module named google.protobuf" (the dotted rest of the name it missed).
_NO_MODULE_NAMED = re.compile(r"^No module named '?([\w.]+)'?$")


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0


@contextlib.contextmanager
def null_context():
    yield


def top_level_module_exists(name):
    """True when the top-level module ``name`` can be found on the path; imports nothing."""
    if PY2:
        try:
            handle = imp.find_module(name)[0]
        except ImportError:
            return False
        if handle is not None:
            handle.close()
        return True
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing_module_name(exc):
    """The module an ``ImportError`` could not find, or None (another ImportError)."""
    name = getattr(exc, "name", None)
    if name or not PY2:
        return name
    match = _NO_MODULE_NAMED.match(str(exc))
    return match.group(1) if match else None


class PostImportHook(object):
    """Finds nothing itself: lets the other finders load a module, then ``after(module)``.

    ``wants(fullname)`` selects the modules; everything else goes by untouched.  Insert the
    instance at the front of ``sys.meta_path``.
    """

    def __init__(self, wants, after):
        self._wants, self._after = wants, after

    # Python 3: wrap the loader of the spec the next finder returns.
    def find_spec(self, fullname, path, target=None):
        if not self._wants(fullname):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _LoaderThenCallback(spec.loader, self._after)
                return spec
        return None

    # Python 2 (PEP 302): find the module where the built-in import would, load it the same way.
    def find_module(self, fullname, path=None):
        if not PY2 or not self._wants(fullname):
            return None
        try:
            found = imp.find_module(fullname.rpartition(".")[2], path)
        except ImportError:     # an implicit relative import probing a name: not ours
            return None
        return _Py2Loader(found, self._after)


class _LoaderThenCallback(object):
    """Delegates to the real loader, then runs the callback on the module it just executed."""

    def __init__(self, loader, after):
        self._loader, self._after = loader, after

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        self._after(module)


class _Py2Loader(object):

    def __init__(self, found, after):
        self._found, self._after = found, after

    def load_module(self, fullname):
        handle, pathname, description = self._found
        try:
            module = imp.load_module(fullname, handle, pathname, description)
        finally:
            if handle is not None:
                handle.close()
        parent, _, name = fullname.rpartition(".")
        if parent:      # what the import does next; the callback's `from parent import name` needs it
            setattr(sys.modules[parent], name, module)
        self._after(module)
        return module

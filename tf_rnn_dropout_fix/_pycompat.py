"""What differs between Python 2.7 and Python 3: the only module that knows.

The legacy TF1 code bases the package serves often still run on Python 2.7 (TF published cp27
wheels up to 2.1), so the package runs there unchanged.  Where Python 2 lacks an API the
package uses, this module gives one spelling for both:

* ``signature``: ``inspect.signature``, from the ``funcsigs`` backport on Python 2 (a
  dependency there, by environment marker);
* ``get_ident``, ``filterfalse``, ``perf_counter``, ``process_time``, ``RecursionError``: names
  that moved or arrived in Python 3; ``median`` and ``null_context``
  (``statistics.median``, ``contextlib.nullcontext`` of Python 3);
* ``missing_module_name``: which module an ``ImportError`` could not find (``exc.name``);
* ``top_level_module_exists``: ``importlib.util.find_spec``, ``imp.find_module`` on Python 2;
* ``generate_tokens``: tokens with Python 3's named fields (``scan`` rewrites Python 2 code
  with them);
* ``PostImportHook``: a ``sys.meta_path`` entry that runs a callback right after selected
  modules execute, through ``find_spec``/``exec_module`` on Python 3 and the PEP 302
  ``find_module``/``load_module`` protocol with ``imp`` on Python 2.
"""
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
else:
    import inspect
    import threading

    signature = inspect.signature
    get_ident = threading.get_ident
    filterfalse = itertools.filterfalse
    perf_counter = time.perf_counter
    process_time = time.process_time
    RecursionError = RecursionError

# --- Reading source (scan) ----------------------------------------------------------------------

_TokenInfo = collections.namedtuple("TokenInfo", "type string start end line")


if PY2:
    def generate_tokens(readline):
        """Python 3's named tokens (``type``, ``string``, ``start``, ``end``, ``line``)."""
        return (_TokenInfo(*token) for token in tokenize.generate_tokens(readline))
else:
    generate_tokens = tokenize.generate_tokens


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

"""The code base as a set of modules, resolved across files: ``import pkg.layers as layers``,
``from . import x``, package ``__init__`` re-exports.

Every file given is indexed under the dotted name it is imported by (see
``_source.module_name``), but parsed only when needed: at once when it may hold a finding (its
text names a wrapper or a Keras GRU), later when a name followed from such a file leads into it.
That keeps a scan of a whole TF installation to the few files that matter.
"""
import os

from tf_rnn_dropout_fix import _pycompat
from tf_rnn_dropout_fix._scan import _names, _source


class Module(object):
    """One file of the code base: its text, dotted name, and (once parsed) its bindings."""

    def __init__(self, path, text):
        self.path, self.text = path, text
        self.is_package = os.path.basename(path) == "__init__.py"
        self.name = _source.module_name(path)
        self.root = os.path.dirname(os.path.abspath(path))
        self._binder = self.error = None
        self._parsed = False

    @property
    def binder(self):
        """The module's ``Binder``, parsing it on first use; None when it cannot be parsed."""
        if not self._parsed:
            self._parsed = True
            try:
                tree = _source.parse(self.text)
                binder = _names.Binder(self)
                binder.visit(tree)
                self._binder = binder
            except SyntaxError as exc:
                self.error = (exc.lineno or 1, exc.offset or 1,
                              "cannot be parsed, even as Python 2 (%s)" % (exc.msg or exc))
            except _pycompat.RecursionError:
                self.error = (1, 1, "nested too deeply to analyse")
        return self._binder

    def lines(self):
        return self.text.split("\n")          # AST line numbers (str.splitlines splits at \f)


class Project(object):
    """The modules of the files given, by dotted name."""

    def __init__(self, modules):
        self.modules = list(modules)
        self._by_name = {}
        for module in self.modules:
            if module.name:
                self._by_name.setdefault(module.name, []).append(module)

    def module(self, name, near=None):
        """The module imported as ``name`` (the one beside ``near`` first), or None."""
        found = self._by_name.get(name)
        if not found:
            return None
        if near is not None:
            for module in found:
                if module.root.startswith(near.root) or near.root.startswith(module.root):
                    return module
        return found[0]

    def split(self, path, near=None):
        """(module, remaining attribute names) for the longest module prefix of ``path``."""
        parts = path.split(".")
        for end in range(len(parts), 0, -1):
            module = self.module(".".join(parts[:end]), near)
            if module is not None:
                return module, parts[end:]
        return None, parts

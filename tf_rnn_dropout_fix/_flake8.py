"""flake8 plugin: ``flake8 --select TRD`` runs the checks of ``tf-rnn-dropout-fix scan``.

Each file is judged with the rest of its package (the folder tree above it that holds
``__init__.py`` files), so a cell class imported from another module of the code base is
followed as the command line follows it.  Options: ``--trd-tf-version`` and
``--trd-keras-version`` (also ``trd-tf-version = 1.15`` in the flake8 configuration).
"""
import os

from tf_rnn_dropout_fix import _scan
from tf_rnn_dropout_fix._scan import _project
from tf_rnn_dropout_fix._version import __version__

_projects = {}      # package root -> modules of the files under it, read once per process


def _version(option, text):
    if not text:
        return None
    try:
        return _scan.version_option(text)
    except ValueError as exc:
        raise ValueError("%s: %s" % (option, exc))


def _package_root(path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isfile(os.path.join(directory, "__init__.py")):
        return None
    while os.path.isfile(os.path.join(os.path.dirname(directory), "__init__.py")):
        directory = os.path.dirname(directory)
    return directory


def _neighbours(path):
    """The other modules of ``path``'s package, for names imported from them."""
    root = _package_root(path)
    if root is None:
        return []
    if root not in _projects:
        modules = []
        for filename in _scan.python_files(root):
            text, failure = _scan._read(filename)
            if failure is None:
                modules.append(_project.Module(filename, text))
        _projects[root] = modules
    same = os.path.abspath(path)
    return [m for m in _projects[root] if os.path.abspath(m.path) != same]


class Plugin(object):
    """The flake8 checker: one finding per line, ``TRDnnn message``."""

    name = "tf-rnn-dropout-fix"
    version = __version__
    tf_version = keras_version = None

    def __init__(self, tree, filename="stdin", lines=None):
        self.filename, self.lines = filename, lines

    @classmethod
    def add_options(cls, manager):
        for option, what in (("--trd-tf-version", "TensorFlow"), ("--trd-keras-version",
                                                                    "Keras")):
            manager.add_option(option, default=None, parse_from_config=True, metavar="X.Y",
                               help="tf-rnn-dropout-fix: the %s the code runs on" % what)

    @classmethod
    def parse_options(cls, options):
        cls.tf_version = _version("--trd-tf-version", getattr(options, "trd_tf_version", None))
        cls.keras_version = _version("--trd-keras-version",
                                     getattr(options, "trd_keras_version", None))

    def run(self):
        if self.lines is not None:
            text = "".join(self.lines)
        else:
            text, failure = _scan._read(self.filename)
            if failure is not None:
                return
        module = _project.Module(self.filename, text)
        findings = _scan.scan_modules([module] + _neighbours(self.filename), self.tf_version,
                                      self.keras_version, only=[module])
        for finding in findings:
            yield (finding.line, finding.col - 1, "%s %s" % (finding.code, finding.message),
                   type(self))

"""``tf-rnn-dropout-fix scan``: find state dropout that reaches a GRU state or an LSTM memory.

A static audit: files are parsed, never imported or run, and TensorFlow is not needed.  For every
``DropoutWrapper`` / ``RNNCellDropoutWrapper`` call with state dropout (``state_keep_prob``
given, by keyword or as the fourth positional argument, and not 1), the wrapped cell is traced
back through the code base given: constructor calls, local names, ``self.`` and class
attributes, ``MultiRNNCell([...])`` lists and comprehensions, ``append``, pass-through
wrappers, functions and methods that return a cell (every branch), dicts and lists of cell
classes, ``functools.partial``, imports between the files given (absolute, relative, package
re-exports), and classes of the code base (subclasses of known cells, and GRU-like classes by
the runtime's rule).  A cell nobody can name gets a note (TRD202).

The parts: ``_source`` reads files (Python 2 and 3), ``_names`` records what each name may
hold in one module, ``_project`` and ``_resolve`` follow names across modules, ``_rules`` decides
what is reported, ``_output`` writes text, JSON and SARIF.
"""
from tf_rnn_dropout_fix._scan import _project, _resolve, _rules, _source
from tf_rnn_dropout_fix._scan._rules import (CODES, NOT_SCANNED, NOTE, PROBLEM, RULES,
                                             Finding, version_option)
from tf_rnn_dropout_fix._scan._source import parse, python2_rewrite, python_files

__all__ = ["CODES", "RULES", "PROBLEM", "NOTE", "NOT_SCANNED", "Finding", "scan_paths",
           "scan_file", "scan_source", "parse", "python2_rewrite", "python_files",
           "version_option"]


def _may_report(text, judge):
    """Only a file that names a wrapper (or, for TRD105, a Keras GRU) can hold a finding; every
    spelling, alias and subclass names it somewhere."""
    return "DropoutWrapper" in text or (judge.keras3_gru and "recurrent_dropout" in text)


def _read(path):
    try:
        with open(path, "rb") as handle:
            return _source.decode(handle.read()), None
    except (IOError, OSError) as exc:
        return None, _rules.not_scanned(path, 1, 1, "cannot be read (%s)" % exc)


def scan_modules(modules, tf_version=None, keras_version=None, only=None):
    """Findings for ``_project.Module`` objects, judged together as one code base (those of
    ``only``, when given)."""
    project = _project.Project(modules)
    judge = _rules.Judge(_resolve.Resolver(project), tf_version, keras_version)
    findings = []
    for module in project.modules if only is None else only:
        if _may_report(module.text, judge):
            findings.extend(judge.module_findings(module))
    return findings


def scan_paths(paths, tf_version=None, keras_version=None):
    """(findings, number of files scanned) for files and directories, in walking order.

    ``tf_version``: the (major, minor) the code runs on, when known: it decides TRD201 and what
    the advice says the package does.  ``keras_version``: the Keras, when known: TRD105.
    """
    modules, unreadable, count = [], [], 0
    for path in paths:
        for filename in python_files(path):
            count += 1
            text, failure = _read(filename)
            if failure is not None:
                unreadable.append(failure)
            else:
                modules.append(_project.Module(filename, text))
    findings = scan_modules(modules, tf_version, keras_version)
    rank = dict((module.path, index) for index, module in enumerate(modules))
    findings.sort(key=lambda f: (rank.get(f.path, 0), f.line, f.col, f.code))
    return findings + unreadable, count


def scan_file(path, tf_version=None, keras_version=None):
    return scan_paths([path], tf_version, keras_version)[0]


def scan_source(text, path="<string>", tf_version=None, keras_version=None):
    """Findings for one file's text, in line order."""
    return scan_modules([_project.Module(path, text)], tf_version, keras_version)

"""Command line: ``tf-rnn-dropout-fix`` or ``python -m tf_rnn_dropout_fix``.

Each subcommand is one ``_add_<name>(commands)`` function, listed in ``SUBCOMMANDS``: it declares
its arguments, the function that runs it (``args -> exit status``) and whether it needs
TensorFlow.  For those that do, the package's import-time patch is applied before they run;
the others (``scan``) never import TensorFlow, which is why starting the command line does not
patch by itself (see ``tf_rnn_dropout_fix._started_as_command_line``).
"""
from __future__ import print_function

import argparse
import os
import re
import subprocess
import sys
import textwrap
import threading
import warnings

from tf_rnn_dropout_fix import _scan
from tf_rnn_dropout_fix._version import __version__

PROG = "tf-rnn-dropout-fix"

_DESCRIPTION = """\
Make TensorFlow's RNN DropoutWrapper correct: state dropout never touches an LSTM memory,
and never blows up a GRU state.  Add `import tf_rnn_dropout_fix` at start-up; these commands
inspect the patch, demonstrate the bug and the fix, and audit a code base."""

_EPILOG = """\
examples:
  %(prog)s repro --plot repro.png   the bug and the fix, side by side, on your TensorFlow
  %(prog)s scan src/                find state dropout that reaches a GRU or an LSTM memory
  %(prog)s status                   what the package found and patched here

Run `%(prog)s COMMAND --help` for the options of each command."""


# --- status ------------------------------------------------------------------------------------

def _run_status(args):
    """Never raises: whatever goes wrong is reported, with exit status 2."""
    import tf_rnn_dropout_fix
    try:
        status = tf_rnn_dropout_fix.status()
        print(status.to_json() if args.json else status)
    except Exception as exc:     # a diagnostic command must diagnose, not crash
        print("%s status: could not build the report (%s: %s)" % (PROG, type(exc).__name__, exc),
              file=sys.stderr)
        return 2
    return 2 if status.setting_problems else 0


def _add_status(commands):
    status = commands.add_parser(
        "status", help="TF version, wrapper classes found, whether each is corrected, policy",
        description="Show what tf_rnn_dropout_fix found and did in this Python: package, Python "
                    "and TensorFlow versions, the compat layer, every DropoutWrapper class and "
                    "the public names that reach it, whether each is corrected, and the GRU "
                    "policy with where it came from (code, flag, environment or default); the "
                    "copies that load later, and on TF 2.16+ what the Keras 3 stack leaves.",
        epilog="exit status: 0 done; 2 a setting the package cannot use (it is shown as a "
               "PROBLEM line).")
    status.add_argument("--json", action="store_true", help="print JSON, for scripts")
    status.set_defaults(run=_run_status, needs_tensorflow=True)


# --- repro -------------------------------------------------------------------------------------

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("expected a whole number of at least 1, got %r" % text)
    return value


def _run_repro(args):
    import tf_rnn_dropout_fix
    from tf_rnn_dropout_fix import _compat, _repro
    if args.plot:
        problem = _repro.matplotlib_problem()
        if problem is not None:
            print("%s repro: --plot needs matplotlib, which cannot be imported here (%s).\n"
                  "Install it with: %s" % (PROG, problem, _repro.PLOT_INSTALL_HINT),
                  file=sys.stderr)
            return 2
        directory = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(directory):
            args.parser.error("--plot %s: the directory %s does not exist" % (args.plot, directory))
    if not tf_rnn_dropout_fix.is_patched():
        print("tf_rnn_dropout_fix is not active here: %s" % tf_rnn_dropout_fix.status().problem,
              file=sys.stderr)
        return 1
    version = tf_rnn_dropout_fix.status().tf_version
    if args.cell == "keras3-gru":
        return _run_repro_keras3_gru(args, version)
    print("TensorFlow %s: DropoutWrapper(state_keep_prob=%s, variational_recurrent=True), "
          "%d steps, stock versus corrected\n" % (version, _repro.STATE_KEEP_PROB, args.steps))
    comparisons = []
    for kind in _repro.CELLS if args.cell == "all" else (args.cell,):
        with warnings.catch_warnings(), _compat.silenced_deprecations():
            warnings.simplefilter("ignore")     # TF's deprecation notices, not the demo
            comparisons.append(_repro.compare(kind, args.steps))
        print(_repro.format_table(*_repro.table(comparisons[-1])))
        print()
        sys.stdout.flush()
    if args.plot:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # log axis notices for all-NaN curves
            _repro.plot(comparisons, args.plot, version)
        print("plot written to %s" % args.plot)
    return 0


def _run_repro_keras3_gru(args, version):
    import tf_rnn_dropout_fix
    from tf_rnn_dropout_fix import _repro
    try:
        import keras   # noqa: F401  (patched as it loads)
    except ImportError as exc:
        keras = exc
    state = tf_rnn_dropout_fix.status().keras3_gru or ""
    if not state.startswith("corrected"):
        print("%s repro --cell keras3-gru needs a Keras 3.0 - 3.7 release, whose GRU masks its "
              "carried state; here: %s." % (PROG, state or "no Keras 3 (%s)" % (keras,)),
              file=sys.stderr)
        return 1
    print("TensorFlow %s, Keras 3 GRU: %s\nkeras.layers.GRU(32, recurrent_dropout=0.5), %d "
          "steps, stock versus corrected\n" % (version, state, args.steps))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = _repro.compare("keras3-gru", args.steps)
    print(_repro.format_table(*_repro.table(comparison)))
    if args.plot:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _repro.plot([comparison], args.plot, version)
        print("plot written to %s" % args.plot)
    return 0


def _add_repro(commands):
    repro = commands.add_parser(
        "repro", help="the bug and the fix side by side: max |state| and the loss",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Run the same RNN twice on the installed TensorFlow, once with the stock DropoutWrapper and once
corrected: DropoutWrapper(state_keep_prob=0.8, variational_recurrent=True) around a cell,
dynamic_rnn over random inputs, one gradient-descent step.  Prints max |state| (the carried
memory: h for the GRU, c for the LSTMs) at t = 1, 10, 100, ... N, and the loss after one
training step; nan and inf are shown as such.  Stock overflows for the GRU and the
state_is_tuple=False LSTM; the tuple-state LSTM is identical on TF >= 1.4.""",
        epilog="exit status: 0 done; 1 the package is switched off in this Python (status says\n"
               "why); 2 usage error, TensorFlow missing or failing to import, a bad setting,\n"
               "the Keras 3 stack without tf_keras, or --plot without matplotlib.  On TF 2.16+\n"
               "with tf_keras installed but TF_USE_LEGACY_KERAS unset, the command runs itself\n"
               "again with TF_USE_LEGACY_KERAS=1 and says so.  TensorFlow's C++ log is quieted\n"
               "(TF_CPP_MIN_LOG_LEVEL=3) unless you set TF_CPP_MIN_LOG_LEVEL.")
    repro.add_argument("--steps", type=_positive_int, default=700, metavar="N",
                       help="sequence length (default 700: enough for stock to reach inf)")
    repro.add_argument("--cell", choices=("gru", "lstm-concat", "lstm", "all", "keras3-gru"),
                       default="all",
                       help="gru, lstm-concat (LSTMCell, state_is_tuple=False), lstm (tuple "
                            "state), all (default: the three), or keras3-gru (Keras 3.0 - "
                            "3.7's own GRU(recurrent_dropout=0.5))")
    repro.add_argument("--plot", metavar="FILE.png",
                       help="also draw max |state| against the time step (log scale), stock and "
                            "corrected, to this image; needs matplotlib: "
                            "pip install 'tf-rnn-dropout-fix[plot]'")
    repro.set_defaults(run=_run_repro, needs_tensorflow=True, needs_tf1_cells=True, parser=repro)


# --- scan --------------------------------------------------------------------------------------

def _tf_version(text):
    try:
        return _scan.version_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


def _run_scan(args):
    from tf_rnn_dropout_fix._scan import _output
    missing = [path for path in args.paths if not os.path.exists(path)]
    if missing:
        args.parser.error("no such file or directory: %s" % ", ".join(missing))
    findings, files = _scan.scan_paths(args.paths, args.tf_version, args.keras_version)
    ignored = set(code.strip().upper() for code in (args.ignore or "").split(",") if code.strip())
    findings = [f for f in findings if f.code not in ignored]
    status = 1 if any(f.severity == _scan.PROBLEM for f in findings) else 0
    if _output.write(_output.render(findings, args.format)) and args.format == "text":
        _output.write(_output.summary(PROG, files, findings), sys.stderr)
    return status


def _codes_help():
    return "\n".join(textwrap.fill("%s %s: %s" % (code, severity, title), width=79,
                                   initial_indent="  ", subsequent_indent="    ")
                     for code, (severity, title) in _scan.CODES.items())


def _add_scan(commands):
    scan = commands.add_parser(
        "scan", help="audit a code base, statically, for state dropout that reaches a GRU "
                     "state or an LSTM memory",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Find every DropoutWrapper / RNNCellDropoutWrapper call whose state dropout reaches a GRU's
carried state or an LSTM memory, without importing or running the code (TensorFlow is not
needed).  State dropout: state_keep_prob given, by keyword or as the 4th positional argument,
and not 1 (a local name bound only to 1 counts as 1); a parameter, an attribute or a
placeholder counts.  The wrapped cell is traced across the files given: local names, self and
class attributes, MultiRNNCell lists and comprehensions, append(), wrappers, functions and
methods that return cells (every branch), dicts and lists of cell classes, functools.partial,
imports (absolute, relative, package re-exports), subclasses, and GRU-like classes of the code
base; all spellings: tf.nn.rnn_cell, tf.contrib.rnn, tf.compat.v1, `from tensorflow.contrib
import rnn`, `from ... import DropoutWrapper`, tf.nn.RNNCellDropoutWrapper.  State dropout on
a cell nobody can name (a parameter, a cell named by configuration) gets a note, TRD202.

Directories are walked for *.py, skipping .git, .tox, __pycache__, site-packages and
virtual environments; files named on the command line are scanned whatever their name.
Python 2 files are read too.  A line ending in `# noqa` or `# noqa: TRD101` is not reported.""",
        epilog="""\
codes:
%s

output: one `path:line:col: CODE message` line per finding, the fix in the message; a summary
on stderr.  --format json prints a JSON list of {path, line, col, code, severity, cell, message};
--format sarif a SARIF 2.1.0 log (one result per finding, with the rules' metadata).
exit status: 1 a problem was found; 0 none (notes and unscanned files alone give 0);
2 usage error (a path that does not exist, a bad option).""" % _codes_help())
    scan.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to scan")
    scan.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                      help="text (default, flake8 style), json, or sarif (SARIF 2.1.0, for "
                           "code-scanning uploads)")
    scan.add_argument("--tf-version", type=_tf_version, metavar="X.Y",
                      help="the TensorFlow the code runs on: below 1.4, tuple-state LSTM notes "
                           "(TRD201) become problems; 1.4 or later hides them")
    scan.add_argument("--keras-version", type=_tf_version, metavar="X.Y",
                      help="the Keras the code runs on: 3.0 to 3.7 report "
                           "keras.layers.GRU(recurrent_dropout=...) (TRD105)")
    scan.add_argument("--ignore", metavar="CODES",
                      help="comma-separated codes not to report, e.g. TRD202,TRD201")
    scan.set_defaults(run=_run_scan, needs_tensorflow=False, parser=scan)


# --- bench -------------------------------------------------------------------------------------

def _run_bench(args):
    from tf_rnn_dropout_fix import _bench
    return _bench.run(args)


def _add_bench(commands):
    from tf_rnn_dropout_fix import _bench
    bench = commands.add_parser("bench", help="time one training step of each case, stock and "
                                              "corrected wrappers, and the ratios",
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description=_bench.DESCRIPTION, epilog=_bench.epilog())
    _bench.add_arguments(bench)
    bench.set_defaults(run=_run_bench, needs_tensorflow=True, needs_tf1_cells=True)


# --- the command line --------------------------------------------------------------------------

SUBCOMMANDS = (_add_status, _add_repro, _add_scan, _add_bench)


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=_DESCRIPTION, epilog=_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for add in SUBCOMMANDS:
        add(commands)
    return parser


def _apply_import_time_patch():
    """The patch ``import tf_rnn_dropout_fix`` applies, deferred when the command line started
    (so that ``scan`` runs without TensorFlow); a no-op when the package patched at import.

    Returns None, or the text of the bad setting that stopped it.  Its warnings are not shown:
    each command reports the outcome itself, once.
    """
    import tf_rnn_dropout_fix
    if tf_rnn_dropout_fix._patch_deferred_to_command_line:
        tf_rnn_dropout_fix._patch_deferred_to_command_line = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tf_rnn_dropout_fix.RNNDropoutWarning)
            try:
                tf_rnn_dropout_fix._patch_at_import()
            except ValueError as exc:        # a bad TF_RNN_DROPOUT_FIX* value
                tf_rnn_dropout_fix._problem[0] = str(exc)
                return str(exc)
    return None


# A line of TF's C++ log: glog / absl (``I0000 00:00:...``, ``E1201 22:05:...``), TF 1.x's own
# (``2026-12-01 22:05:40.123: E tensorflow/...``) and absl's notice before it is set up.
_NATIVE_LOG_LINE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
                              r"\.\d+: [IWEF] |WARNING: All log messages before absl::)")


class _QuietNativeLog(object):
    """TF's C++ start-up lines (oneDNN, cuInit, CUDA stubs...) are not the report.

    Sets TF_CPP_MIN_LOG_LEVEL=3 for this process, and since TF 2.x's absl logging writes some
    lines before it reads that, filters TF's C++ log lines out of file descriptor 2: Python's
    own ``sys.stderr`` (tracebacks, warnings, progress) goes straight to the terminal, what C++
    code writes goes through a pipe that drops those lines.  Does nothing when the user set
    TF_CPP_MIN_LOG_LEVEL or TensorFlow is already imported (its log is set up by then).
    """

    def __init__(self):
        self._active = "tensorflow" not in sys.modules and \
            "TF_CPP_MIN_LOG_LEVEL" not in os.environ
        self._saved = self._thread = self._stderr = None

    def __enter__(self):
        if not self._active:
            return self
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
            read, write = os.pipe()
        except (OSError, AttributeError, ValueError):   # no real stderr: the level must do
            return self
        self._stderr = sys.stderr
        sys.stderr = os.fdopen(os.dup(self._saved), "w")
        os.dup2(write, 2)
        os.close(write)
        self._thread = threading.Thread(target=self._pump, args=(read,))
        self._thread.daemon = True
        self._thread.start()
        return self

    def _pump(self, read):
        with os.fdopen(read, "rb") as pipe:
            for line in iter(pipe.readline, b""):
                if not _NATIVE_LOG_LINE.match(line.decode("utf-8", "replace")):
                    os.write(self._saved, line)

    def __exit__(self, *exc_info):
        if self._thread is None:
            return False
        sys.stderr.flush()
        os.dup2(self._saved, 2)           # closes the pipe's last write end: the pump ends
        self._thread.join(10)
        sys.stderr.close()
        sys.stderr = self._stderr
        os.close(self._saved)
        return False


def _legacy_keras_for_this_run(command, argv):
    """On TF 2.16+ the TF1 cells the demonstration and the benchmark build need tf_keras,
    switched on before TensorFlow is imported.  Returns (None, None) to go on here,
    (exit status, None) after running the same command again with tf_keras switched on, or
    (None, what is wrong and the fix)."""
    from tf_rnn_dropout_fix import _compat
    if not _compat.is_installed("tensorflow"):
        return None, None                 # said when the patch cannot import it
    line = _compat.parse_version(_compat.installed_tf_version())
    problem = _compat.keras_problem(line)
    if problem is None:
        return None, None
    if not _compat.legacy_keras_on() and _compat.is_installed("tf_keras") \
            and "tensorflow" not in sys.modules:
        print("%s %s: tf.keras is Keras 3 here; running this command with %s=1 (tf_keras %s), "
              "which TF1-style cells need. Your own programs: set %s=1 before importing "
              "TensorFlow." % (PROG, command, _compat.LEGACY_KERAS_ENV,
                               _compat.installed_version(("tf_keras",)) or "",
                               _compat.LEGACY_KERAS_ENV), file=sys.stderr)
        sys.stderr.flush()
        env = dict(os.environ)
        env[_compat.LEGACY_KERAS_ENV] = "1"
        return subprocess.call([sys.executable, "-m", "tf_rnn_dropout_fix"] + list(argv),
                               env=env), None
    if "tensorflow" in sys.modules and not _compat.legacy_keras_on():
        problem += " (TensorFlow is already imported in this process)"
    return None, problem


def main(argv=None):
    """Run the command line; returns the exit status (argparse exits with 2 on usage errors)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if not argv:                # Python 2's argparse would exit
        parser.print_help()
        return 2
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    if not args.needs_tensorflow:
        return args.run(args)
    with _QuietNativeLog():
        return _run_with_tensorflow(args, argv)


def _run_with_tensorflow(args, argv):
    """Patch as the import would, then run; TF missing or broken, a bad setting or the Keras 3
    stack without tf_keras end the demonstration and the benchmark with 2 and the fix."""
    keras_problem = None
    if getattr(args, "needs_tf1_cells", False):
        status, keras_problem = _legacy_keras_for_this_run(args.command, argv)
        if status is not None:
            return status
    bad_setting = _apply_import_time_patch()
    if args.command != "status":
        import tf_rnn_dropout_fix
        from tf_rnn_dropout_fix import _config
        problem = bad_setting
        if problem is None and sys.modules.get("tensorflow") is None and _config.env_switch_on():
            problem = tf_rnn_dropout_fix.status().problem     # missing or broken: the fix
        problem = problem or keras_problem
        if problem:
            print("%s %s: %s." % (PROG, args.command, problem.rstrip(".")), file=sys.stderr)
            return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

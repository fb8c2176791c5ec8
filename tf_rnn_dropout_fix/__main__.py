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
import sys
import textwrap
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
    import tf_rnn_dropout_fix
    status = tf_rnn_dropout_fix.status()
    print(status.to_json() if args.json else status)
    return 0


def _add_status(commands):
    status = commands.add_parser(
        "status", help="TF version, wrapper classes found, whether each is corrected, policy",
        description="Show what tf_rnn_dropout_fix found and did in this Python: package, Python "
                    "and TensorFlow versions, the compat layer, every DropoutWrapper class and "
                    "the public names that reach it, whether each is corrected, and the GRU "
                    "policy with where it came from (code, flag, environment or default).")
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
    from tf_rnn_dropout_fix import _repro
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
        with warnings.catch_warnings():
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
        epilog="exit status: 0 done; 1 the package is not active in this Python (status says\n"
               "why); 2 usage error, or --plot without matplotlib.")
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
    repro.set_defaults(run=_run_repro, needs_tensorflow=True, parser=repro)


# --- scan --------------------------------------------------------------------------------------

def _tf_version(text):
    parts = text.strip().split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        raise argparse.ArgumentTypeError("expected a version like 1.3, 2.15 or 3.6, got %r"
                                         % text)


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
                                              "corrected wrappers, and the ratios")
    _bench.add_arguments(bench)
    bench.set_defaults(run=_run_bench, needs_tensorflow=True)


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
    (so that ``scan`` runs without TensorFlow); a no-op when the package patched at import."""
    import tf_rnn_dropout_fix
    if tf_rnn_dropout_fix._patch_deferred_to_command_line:
        tf_rnn_dropout_fix._patch_deferred_to_command_line = False
        tf_rnn_dropout_fix._patch_at_import()


def main(argv=None):
    """Run the command line; returns the exit status (argparse exits with 2 on usage errors)."""
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):   # Python 2's argparse would exit
        parser.print_help()
        return 2
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    if args.needs_tensorflow:
        _apply_import_time_patch()
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``tf-rnn-dropout-fix`` or ``python -m tf_rnn_dropout_fix``.

Subcommands:
  status   what the package found and patched on this TensorFlow (``--json`` for scripts)
  repro    the bug and the fix side by side on the installed TensorFlow
  bench    the time of one training step, stock versus corrected
"""
import argparse
import sys
import warnings

_DESCRIPTION = """\
Make TensorFlow's RNN DropoutWrapper correct: no LSTM memory dropout, no exploding GRU state.
Add `import tf_rnn_dropout_fix` at start-up; these commands inspect and demonstrate it."""


def _status(args):
    import tf_rnn_dropout_fix
    status = tf_rnn_dropout_fix.status()
    print(status.to_json() if args.json else status)
    return 0


def _repro(args):
    import tf_rnn_dropout_fix
    from tf_rnn_dropout_fix import _repro
    if not tf_rnn_dropout_fix.is_patched():
        print("tf_rnn_dropout_fix is not active here: %s" % tf_rnn_dropout_fix.status().problem,
              file=sys.stderr)
        return 1
    import tensorflow as tf
    print("TensorFlow %s: DropoutWrapper(state_keep_prob=0.8, variational_recurrent=True), "
          "%d steps, stock versus corrected\n" % (tf.__version__, args.steps))
    cells = _repro.CELLS if args.cell == "all" else (args.cell,)
    for kind in cells:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # TF's deprecation notices, not the demo
            header, rows = _repro.table(kind, args.steps)
        print(_repro.format_table(header, rows))
        print()
    return 0


def _bench(args):
    from tf_rnn_dropout_fix import _bench as bench
    return bench.run(args)


def build_parser():
    parser = argparse.ArgumentParser(prog="tf-rnn-dropout-fix", description=_DESCRIPTION)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    status = commands.add_parser("status", help="show TF version, wrapper classes found, "
                                                "whether each is corrected, and the GRU policy")
    status.add_argument("--json", action="store_true", help="print JSON instead of text")
    status.set_defaults(run=_status)
    repro = commands.add_parser("repro", help="run the stock and the corrected wrapper side by "
                                              "side and print max |state| and the loss")
    repro.add_argument("--steps", type=int, default=700, metavar="N",
                       help="sequence length (default 700: enough for stock to reach inf)")
    repro.add_argument("--cell", choices=("gru", "lstm-concat", "lstm", "all"), default="all",
                       help="gru, lstm-concat (state_is_tuple=False) or lstm (tuple state)")
    repro.set_defaults(run=_repro)
    from tf_rnn_dropout_fix._bench import add_arguments as add_bench_arguments
    bench = commands.add_parser("bench", help="time one training step of each case, stock and "
                                              "corrected wrappers, and the ratios")
    add_bench_arguments(bench)
    bench.set_defaults(run=_bench)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    if getattr(args, "steps", 1) < 1:
        parser.error("--steps must be at least 1")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""What the corrections cost: the time of one training step, stock versus corrected.

Every case is its own TF1-style graph (``dynamic_rnn`` over a constant input, the mean squared
output as the loss, one plain gradient-descent step) with its own ``Session``, all in one process
and with the same thread settings.  ``Session.run(train_op)`` is timed round-robin: each repeat
times one step of every case, in a new order (shuffled with a fixed seed), so the noise of a
shared machine falls on all cases alike and no case always follows the same neighbour.  Warm-up
steps (graph optimisation, first allocations) are not timed.  The median over the repeats is the
figure; min and max show the spread.  ``TARGETS`` are the ratios of medians the project holds
itself to.

The cases (``nodrop`` is the bare cell, no wrapper; state dropout is ``state_keep_prob=0.8,
variational_recurrent=True``; gate dropout is ``gate_keep_prob=0.8, variational_recurrent=True``):

  gru_nodrop, lstm_nodrop          ``GRUCell`` / ``LSTMCell`` (tuple state), no wrapper
  gru_stock_state_dropout          the stock wrapper, built under ``disabled()``
  lstm_stock_state_dropout
  gru_reroute                      the corrected wrapper: GRU state dropout rerouted
  lstm_state_dropout               the corrected wrapper: LSTM ``h`` dropped, ``c`` kept
  gru_gate_dropout                 the corrected wrapper's gate dropout
  lstm_gate_dropout
  keras_gru_recurrent_dropout      TF 2.x: Keras ``GRU(units, recurrent_dropout=0.2,
                                   return_sequences=True)``, what users would pick instead
  keras_rnn_gru_reroute            TF 2.x: ``keras.layers.RNN`` over ``tf.nn.RNNCellDropoutWrapper``
                                   around a Keras ``GRUCell``, corrected state dropout
"""
from __future__ import print_function

import argparse
import collections
import random
import sys
import time
import warnings

from tf_rnn_dropout_fix import _compat, _pycompat

KEEP_PROB = 0.8
DEFAULTS = {"batch": 64, "units": 256, "steps": 100, "repeats": 10, "warmup": 2, "threads": 1,
            "seed": 0}
# cpu (the default): CPU seconds of this whole process (every TF thread), which time spent
# waiting for a core that other programs hold does not inflate.  wall: elapsed time, what a user
# waits for, but on a busy machine it charges other programs' load to whichever case was
# running (see CLOCK_HELP and docs/bench.md for the figures).
CLOCKS = {"wall": _pycompat.perf_counter, "cpu": _pycompat.process_time}
DEFAULT_CLOCK = "cpu"
CLOCK_HELP = ("cpu (default): CPU time of this process, all TF threads; on a busy machine "
              "waiting for a core inflates no case, so the ratios stay honest. wall: elapsed "
              "time, what you wait for; on a quiet machine with --threads 1 it agrees with cpu, "
              "on a busy one it charges other programs' load to whichever case ran")
PROGRESS_AFTER_S = 3.0      # progress on stderr once a run has taken this long

# name: (cell family, dropout kind, stock wrapper)
_WRAPPED_CASES = (
    ("gru_nodrop", ("gru", None, False)),
    ("gru_stock_state_dropout", ("gru", "state", True)),
    ("gru_reroute", ("gru", "state", False)),
    ("gru_gate_dropout", ("gru", "gate", False)),
    ("lstm_nodrop", ("lstm", None, False)),
    ("lstm_stock_state_dropout", ("lstm", "state", True)),
    ("lstm_state_dropout", ("lstm", "state", False)),
    ("lstm_gate_dropout", ("lstm", "gate", False)),
)
CASE_SPECS = dict(_WRAPPED_CASES)
KERAS_CASE = "keras_gru_recurrent_dropout"
KERAS_WRAPPER_CASE = "keras_rnn_gru_reroute"

# (case, baseline, the most the ratio of their medians may be)
TARGETS = (
    ("gru_reroute", "gru_stock_state_dropout", 1.10),
    ("lstm_state_dropout", "lstm_stock_state_dropout", 1.03),
    ("lstm_gate_dropout", "lstm_nodrop", 1.15),
    ("gru_gate_dropout", "gru_nodrop", 1.15),
    ("gru_reroute", KERAS_CASE, 1.00),
    (KERAS_WRAPPER_CASE, KERAS_CASE, 1.00),
)


def case_names(tf_major):
    """Every case this TensorFlow runs, in report order."""
    keras = (KERAS_CASE, KERAS_WRAPPER_CASE) if tf_major >= 2 else ()
    return tuple(name for name, _ in _WRAPPED_CASES) + keras


# --- Command line ------------------------------------------------------------------------------

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % (text,))
    if value < 1:
        raise argparse.ArgumentTypeError("%r must be at least 1" % (text,))
    return value


def _case_list(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = case_names(2)
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError("unknown case %s; choose from %s"
                                         % (", ".join(unknown) or "(none)", ", ".join(known)))
    return names


def add_arguments(parser):
    """The ``bench`` subcommand's options."""
    parser.add_argument("--json", action="store_true",
                        help="print one JSON line (tf_version, config, cases, ratios)")
    for name, meta, what in (("batch", "B", "examples per step"),
                             ("units", "H", "cell units, also the input depth"),
                             ("steps", "T", "sequence length"),
                             ("repeats", "R", "timed steps per case (the median is reported)"),
                             ("warmup", "W", "untimed steps per case first"),
                             ("threads", "N", "TF intra- and inter-op threads per session")):
        parser.add_argument("--" + name, type=_positive_int, default=DEFAULTS[name],
                            metavar=meta, help="%s (default %d)" % (what, DEFAULTS[name]))
    parser.add_argument("--clock", choices=sorted(CLOCKS), default=DEFAULT_CLOCK,
                        help=CLOCK_HELP)
    parser.add_argument("--cases", type=_case_list, default=None, metavar="A,B",
                        help="only these cases, comma-separated (default: all that this TF "
                             "runs; the list is below)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines on stderr")


DESCRIPTION = """\
Time one training step of each case (a TF1-style graph: dynamic_rnn forward, backward, one
gradient-descent step), stock and corrected wrappers in one process, round-robin in a shuffled
order, and report the median, min and max of each case and the ratios of medians against the
project's targets.  Progress (rounds done, time left) goes to stderr once the run takes more than
a few seconds; the report goes to stdout."""


def epilog():
    """The cases and their targets, for ``bench --help``."""
    lines = ["cases (state dropout: state_keep_prob=0.8, variational_recurrent=True):"]
    width = max(len(name) for name in case_names(2))
    for name in case_names(2):
        lines.append("  %-*s  %s" % (width, name, CASE_HELP.get(name, "")))
    lines.append("")
    lines.append("targets (ratio of medians, at most):")
    for case, baseline, target in TARGETS:
        lines.append("  %s / %s <= %.2f" % (case, baseline, target))
    lines.append("")
    lines.append("exit status: 0 done (a MISSED target is reported, not an error); 1 the package "
                 "is switched off;\n2 usage error, TensorFlow missing, or the Keras 3 stack "
                 "without tf_keras.")
    return "\n".join(lines)


CASE_HELP = {
    "gru_nodrop": "GRUCell, no wrapper",
    "gru_stock_state_dropout": "GRUCell in the stock wrapper (built under disabled())",
    "gru_reroute": "GRUCell in the corrected wrapper: state dropout rerouted",
    "gru_gate_dropout": "GRUCell, the corrected wrapper's gate dropout (gate_keep_prob=0.8)",
    "lstm_nodrop": "LSTMCell (tuple state), no wrapper",
    "lstm_stock_state_dropout": "LSTMCell in the stock wrapper",
    "lstm_state_dropout": "LSTMCell in the corrected wrapper: h dropped, c kept",
    "lstm_gate_dropout": "LSTMCell, the corrected wrapper's gate dropout",
    "keras_gru_recurrent_dropout": "TF 2.x: Keras GRU(recurrent_dropout=0.2), what users pick "
                                   "instead",
}


def config_from_args(args):
    config = dict(DEFAULTS)
    config.update((name, getattr(args, name)) for name in DEFAULTS if name != "seed")
    config["clock"], config["cases"] = args.clock, args.cases
    config["progress"] = not getattr(args, "quiet", False)
    return config


# --- Building one case -------------------------------------------------------------------------

class _Case(object):
    """One case's graph and session; ``step()`` runs one training step and returns seconds."""

    def __init__(self, name, session, train_op, clock):
        self.name, self._session, self._train_op, self._clock = name, session, train_op, clock

    def step(self):
        start = self._clock()
        self._session.run(self._train_op)
        return self._clock() - start

    def close(self):
        self._session.close()


def _legacy_keras(tf):
    """The Keras that still builds TF1 graphs: tf.keras up to TF 2.15, tf_keras from 2.16."""
    version = _compat.tf_version_string(tf)
    if _compat.parse_version(version) < (2, 16):
        return tf.keras
    try:
        import tf_keras
    except ImportError:
        raise ImportError("%s on TensorFlow %s needs tf_keras (Keras 3 builds no TF1 graphs): "
                          "pip install the tf_keras of the same minor version, or leave the "
                          "case out with --cases." % (KERAS_CASE, version))
    return tf_keras


def _wrapped_cell_outputs(tf, v1, name, units, inputs, seed):
    import tf_rnn_dropout_fix
    from tf_rnn_dropout_fix import _wrapper
    family, dropout, stock = CASE_SPECS[name]
    rnn_cell = v1.nn.rnn_cell
    cell = rnn_cell.GRUCell(units) if family == "gru" else rnn_cell.LSTMCell(units)
    if dropout is not None:
        kwargs = dict(variational_recurrent=True, dtype=tf.float32, seed=seed)
        kwargs["state_keep_prob" if dropout == "state" else "gate_keep_prob"] = KEEP_PROB
        if stock:
            with tf_rnn_dropout_fix.disabled():
                cell = rnn_cell.DropoutWrapper(cell, **kwargs)
        else:
            cell = rnn_cell.DropoutWrapper(cell, **kwargs)
            plan = _wrapper.plan_of(cell)
            if plan is None or (name == "gru_reroute" and plan.stock_gru_cells):
                raise RuntimeError("%s needs the corrected wrapper with gru_policy='reroute', but "
                                   "it was built stock; unset TF_RNN_DROPOUT_FIX_GRU_POLICY and "
                                   "TF_RNN_DROPOUT_FIX." % name)
    outputs, _ = v1.nn.dynamic_rnn(cell, inputs, dtype=tf.float32)
    return outputs


def _keras_wrapper_outputs(tf, units, inputs, seed):
    """``keras.layers.RNN`` over the corrected V2 wrapper around a Keras GRUCell, training."""
    from tf_rnn_dropout_fix import _wrapper
    keras = _legacy_keras(tf)
    cell = tf.nn.RNNCellDropoutWrapper(keras.layers.GRUCell(units), state_keep_prob=KEEP_PROB,
                                       variational_recurrent=True, dtype=tf.float32, seed=seed)
    plan = _wrapper.plan_of(cell)
    if plan is None or plan.stock_gru_cells:
        raise RuntimeError("%s needs the corrected wrapper with gru_policy='reroute', but it was "
                           "built stock; unset TF_RNN_DROPOUT_FIX_GRU_POLICY and "
                           "TF_RNN_DROPOUT_FIX." % KERAS_WRAPPER_CASE)
    return keras.layers.RNN(cell, return_sequences=True)(inputs, training=True)


def build_case(name, config):
    """The graph and session of case ``name`` at the size in ``config``."""
    import numpy as np
    import tensorflow as tf
    from tf_rnn_dropout_fix import _repro
    v1 = _repro._v1(tf)
    batch, units, steps, seed = config["batch"], config["units"], config["steps"], config["seed"]
    graph = tf.Graph()
    with graph.as_default(), warnings.catch_warnings(), _compat.silenced_deprecations():
        warnings.simplefilter("ignore")
        v1.set_random_seed(seed)
        inputs = tf.constant(
            np.random.RandomState(seed).randn(batch, steps, units).astype(np.float32))
        if name == KERAS_CASE:
            layer = _legacy_keras(tf).layers.GRU(
                units, recurrent_dropout=round(1.0 - KEEP_PROB, 6), return_sequences=True)
            outputs = layer(inputs, training=True)
        elif name == KERAS_WRAPPER_CASE:
            outputs = _keras_wrapper_outputs(tf, units, inputs, seed)
        else:
            outputs = _wrapped_cell_outputs(tf, v1, name, units, inputs, seed)
        loss = tf.reduce_mean(tf.square(outputs))
        train_op = v1.train.GradientDescentOptimizer(0.01).minimize(loss)
        threads = config["threads"]
        session = v1.Session(graph=graph, config=v1.ConfigProto(
            intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads))
        session.run(v1.global_variables_initializer())
    return _Case(name, session, train_op, CLOCKS[config.get("clock", DEFAULT_CLOCK)])


# --- Measuring ---------------------------------------------------------------------------------

def _summary(times):
    return {"median_s": _pycompat.median(times), "min_s": min(times), "max_s": max(times),
            "runs": len(times)}


def ratios(cases):
    """{"a/b": {"ratio": median a / median b, "target": at most}} for the targets measured."""
    found = {}
    for case, baseline, target in TARGETS:
        if case in cases and baseline in cases:
            found["%s/%s" % (case, baseline)] = {
                "ratio": cases[case]["median_s"] / cases[baseline]["median_s"], "target": target}
    return found


def measure(config):
    """Build every case, time ``config["repeats"]`` rounds of one step each; the JSON result."""
    import tensorflow as tf
    version = _compat.tf_version_string(tf)
    names = case_names(_compat.parse_version(version)[0])
    if config.get("cases"):
        names = tuple(name for name in names if name in config["cases"])
        if not names:
            raise ValueError("cases=%s: none runs on TensorFlow %s (%s needs TF 2.x)."
                             % (",".join(config["cases"]), version, KERAS_CASE))
    progress = _Progress(config.get("progress", False), config["repeats"])
    built = []
    try:
        for name in names:
            built.append(build_case(name, config))
            progress.note("built %d of %d cases" % (len(built), len(names)))
        for case in built:
            for _ in range(config["warmup"]):
                case.step()
        progress.note("warmed up")
        times = dict((case.name, []) for case in built)
        order = random.Random(config["seed"])
        progress.start_rounds()
        for _ in range(config["repeats"]):
            order.shuffle(built)
            for case in built:
                times[case.name].append(case.step())
            progress.round_done()
    finally:
        progress.end()
        for case in built:
            case.close()
    cases = collections.OrderedDict((name, _summary(times[name])) for name in names)
    shown = dict((k, v) for k, v in config.items() if k not in ("cases", "progress"))
    return {"tf_version": version, "config": shown, "cases": cases, "ratios": ratios(cases)}


class _Progress(object):
    """Progress lines on stderr once the run has taken ``PROGRESS_AFTER_S``: what is done and,
    while timing, the rounds done and the time left (from the mean round so far).  On a
    terminal one line is rewritten; elsewhere (CI logs) a line at most every 10 seconds."""

    def __init__(self, enabled, rounds, stream=None):
        self._stream = stream or sys.stderr
        self._enabled, self._rounds, self._done = enabled, rounds, 0
        self._begun = self._last = time.time()
        self._rounds_begun = None
        self._tty = hasattr(self._stream, "isatty") and self._stream.isatty()
        self._shown = False

    def note(self, what):
        self._show("bench: %s (%.0f s)" % (what, time.time() - self._begun))

    def start_rounds(self):
        self._rounds_begun = time.time()

    def round_done(self):
        self._done += 1
        now = time.time()
        left = (now - self._rounds_begun) / self._done * (self._rounds - self._done)
        self._show("bench: round %d of %d done, about %.0f s left" % (self._done, self._rounds,
                                                                      left))

    def _show(self, text):
        now = time.time()
        if not self._enabled or now - self._begun < PROGRESS_AFTER_S:
            return
        if not self._tty and self._shown and now - self._last < 10 and \
                self._done < self._rounds:
            return
        self._last, self._shown = now, True
        self._stream.write(("\r%-72s" if self._tty else "%s\n") % text)
        self._stream.flush()

    def end(self):
        if self._shown and self._tty:
            self._stream.write("\n")
            self._stream.flush()


def format_report(result):
    """The human-readable report of ``measure``'s result."""
    config = result["config"]
    lines = ["TensorFlow %s: one training step (dynamic_rnn forward, backward, gradient descent), "
             "batch %d, %d units, %d steps, input depth %d; median of %d after %d warm-up, "
             "%d thread(s), %s clock" % (result["tf_version"], config["batch"], config["units"],
                                         config["steps"], config["units"], config["repeats"],
                                         config["warmup"], config["threads"], config["clock"]),
             ""]
    width = max(len(name) for name in result["cases"])
    lines.append("%-*s  %10s  %10s  %10s" % (width, "case", "median ms", "min ms", "max ms"))
    for name, case in result["cases"].items():
        lines.append("%-*s  %10.2f  %10.2f  %10.2f" % (
            width, name, 1e3 * case["median_s"], 1e3 * case["min_s"], 1e3 * case["max_s"]))
    if result["ratios"]:
        lines.append("")
        width = max(len(name) for name in result["ratios"])
        lines.append("%-*s  %6s  %8s" % (width, "ratio of medians", "ratio", "target"))
        for name, ratio in result["ratios"].items():
            met = "met" if ratio["ratio"] <= ratio["target"] else "MISSED"
            lines.append("%-*s  %6.3f  <= %.2f  %s" % (width, name, ratio["ratio"],
                                                        ratio["target"], met))
    return "\n".join(lines)


def run(args):
    """The ``bench`` subcommand; returns the exit status."""
    import json
    import tf_rnn_dropout_fix
    if not tf_rnn_dropout_fix.is_patched():
        print("tf_rnn_dropout_fix is not active here: %s" % tf_rnn_dropout_fix.status().problem,
              file=sys.stderr)
        return 1
    result = measure(config_from_args(args))
    print(json.dumps(result) if args.json else format_report(result))
    return 0

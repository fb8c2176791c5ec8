"""Whole-process import cost: `import tensorflow` against the same with the package, both orders.

Run it with the interpreter of the environment to measure, from the repository root or with the
package installed:

    python compat/bench_import.py [--rounds 15] [--bound 1.03]

Each round starts, in a shuffled order, three fresh interpreters that import

    tensorflow                              (the baseline)
    tensorflow, then tf_rnn_dropout_fix     ("after": the package patches what is loaded)
    tf_rnn_dropout_fix, then tensorflow     ("first": the package's hook patches as TF loads)

and reads each one's CPU time (user + system, every thread, interpreter start and exit included)
and wall time.  The figure is the ratio of medians over the rounds, with the spread of the
per-round ratios (their 25th and 75th percentiles) beside it.  A warm-up round first writes the
bytecode, so no import compiles.  With ``--bound``, the exit status is 1 when a ratio of medians
is over the bound; the rounds are repeated up to ``--tries`` times while one is (machine noise).

Runs on Python 2.7 and 3.6+ (it is run by the interpreter under test).
"""
from __future__ import print_function

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROGRAMS = (
    ("tensorflow", "import tensorflow"),
    ("after", "import tensorflow; import tf_rnn_dropout_fix"),
    ("first", "import tf_rnn_dropout_fix; import tensorflow"),
)


def _environment():
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)        # the warm-up round writes the bytecode
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def _child_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_once(code, env):
    """CPU and wall seconds of one fresh interpreter running ``code``."""
    with tempfile.TemporaryFile() as errors:
        cpu, wall = _child_cpu(), time.time()
        status = subprocess.call([sys.executable, "-c", code], env=env, stdout=errors,
                                 stderr=errors)
        cpu, wall = _child_cpu() - cpu, time.time() - wall
        if status != 0:
            errors.seek(0)
            raise SystemExit("bench_import: %r exited with %d:\n%s" % (
                code, status, errors.read().decode("utf-8", "replace")[-3000:]))
    return cpu, wall


def _percentile(values, fraction):
    values = sorted(values)
    position = (len(values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def measure(rounds, seed=0):
    """{program: {"cpu": [...], "wall": [...]}} over ``rounds`` shuffled rounds."""
    env = _environment()
    for _, code in PROGRAMS:
        _run_once(code, env)                            # warm-up: bytecode and file cache
    shuffle = random.Random(seed).shuffle
    times = dict((name, {"cpu": [], "wall": []}) for name, _ in PROGRAMS)
    for _ in range(rounds):
        order = list(PROGRAMS)
        shuffle(order)
        for name, code in order:
            cpu, wall = _run_once(code, env)
            times[name]["cpu"].append(cpu)
            times[name]["wall"].append(wall)
    return times


def ratios(times, clock):
    base = times["tensorflow"][clock]
    report = {}
    for name in ("after", "first"):
        ours = times[name][clock]
        per_round = [a / b for a, b in zip(ours, base)]
        report[name] = {"ratio_of_medians": _percentile(ours, 0.5) / _percentile(base, 0.5),
                        "per_round_25": _percentile(per_round, 0.25),
                        "per_round_75": _percentile(per_round, 0.75)}
    return report


def _versions(env):
    code = ("import json, sys, tensorflow as tf; print(json.dumps({'tensorflow': tf.__version__,"
            " 'python': sys.version.split()[0]}))")
    with open(os.devnull, "w") as devnull:
        out = subprocess.check_output([sys.executable, "-c", code], env=env, stderr=devnull)
    return json.loads(out.decode("utf-8").strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="rounds of three interpreters")
    parser.add_argument("--bound", type=float, default=None,
                        help="exit 1 when a CPU ratio of medians is over this (e.g. 1.03)")
    parser.add_argument("--tries", type=int, default=3,
                        help="with --bound: measure again, up to this many times, while over it")
    parser.add_argument("--json", action="store_true", help="print the raw times as JSON too")
    args = parser.parse_args(argv)
    if args.rounds < 3 or args.tries < 1:
        parser.error("--rounds must be at least 3 and --tries at least 1")
    info = _versions(_environment())
    print("Python %(python)s, TensorFlow %(tensorflow)s" % info)
    over = True
    for attempt in range(args.tries):
        times = measure(args.rounds, seed=attempt)
        report = dict((clock, ratios(times, clock)) for clock in ("cpu", "wall"))
        for clock in ("cpu", "wall"):
            base = _percentile(times["tensorflow"][clock], 0.5)
            for name, figures in sorted(report[clock].items()):
                print("%-4s %-5s %.3fx  (per round %.3f - %.3f; import tensorflow %.2f s, "
                      "%d rounds)" % (clock, name, figures["ratio_of_medians"],
                                      figures["per_round_25"], figures["per_round_75"], base,
                                      args.rounds))
        if args.json:
            print(json.dumps(times))
        over = args.bound is not None and any(
            figures["ratio_of_medians"] > args.bound for figures in report["cpu"].values())
        if not over:
            break
        if attempt + 1 < args.tries:
            print("over %.3f: measuring again" % args.bound)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

"""Run tox environments of the support matrix a few at a time, deleting each one when it is done.

``tox run-parallel`` keeps every environment it builds: the 36 of the matrix need about 40 GB
together (a TF 2.16+ environment alone takes 2 GB).  This runner keeps at most ``--jobs`` of
them on disk at once, so the whole matrix fits in a few GB plus pip's cache::

    python compat/run_matrix.py              # all of compat/matrix.json, two at a time
    python compat/run_matrix.py -m ci        # the CI set (the rows with "ci": true)
    python compat/run_matrix.py -e py36-tf12,py311-tf221 --keep

The package wheel is built once and handed to every environment (``--installpkg``); each
environment runs in its own tox work directory under ``--workdir`` (so concurrent tox processes
share nothing but pip's cache), and its log is kept in ``<workdir>/logs``.  An environment whose
interpreter cannot be found counts as a failure, never as a pass.  The exit status is 0 only if
every environment passed.  A summary (result, install and test time, pytest's counts, slowest
environments, peak disk used by the work directory and pip's cache) is printed and written to
``<workdir>/report.json``, with the package's ``status()`` in each passed environment (the
wrapper copies it corrected there).  Standard library only.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "compat"))
import generate  # noqa: E402  (compat/generate.py: reads compat/matrix.json)

_TOX_RESULT = re.compile(r"^\s*(?P<env>\S+): (?P<result>OK|FAIL)\b.*?\((?P<total>[\d.]+)"
                         r"(?:=setup\[(?P<setup>[\d.]+)\]\+cmd\[(?P<cmd>[\d.]+)\])?", re.M)
# pytest >= 5 ends "... in 9.50s", pytest 4.6 (Python 2.7) "... in 9.50 seconds"
_PYTEST_COUNTS = re.compile(r"^=*\s*((?:\d+ \w+(?:, )?)+) in [\d.]+ ?s", re.M)
# pytest's short summary (-rfE in tox.ini): "FAILED tests/x.py::test - message", "ERROR ..."
_PYTEST_PROBLEMS = re.compile(r"^(?:FAILED|ERROR) \S.*$", re.M)
_MISSING_INTERPRETER = "could not find python interpreter"
GB = 1024.0 ** 3
# What the package found and corrected in a passed environment, for the report: the copies of
# the wrapper that tf.nn.rnn_cell / tf.compat.v1.nn.rnn_cell reach, the rerouted GRU cells, and
# the numpy and protobuf the pins gave.
_STATUS = """
import json, numpy, google.protobuf, tensorflow as tf, tf_rnn_dropout_fix as fix
v1 = getattr(getattr(tf, "compat", None), "v1", None) or tf
v1.nn.rnn_cell.DropoutWrapper
data = fix.status().as_dict()
report = dict((key, data[key]) for key in ("patched", "compat_layer", "wrappers", "gru_cells"))
report.update(numpy=numpy.__version__, protobuf=google.protobuf.__version__)
print(json.dumps(report))
"""


def directory_size(path):
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass   # removed while we walked
    return total


def pip_cache_dir():
    if os.environ.get("PIP_CACHE_DIR"):
        return os.environ["PIP_CACHE_DIR"]
    try:
        out = subprocess.check_output([sys.executable, "-m", "pip", "cache", "dir"],
                                      stderr=subprocess.DEVNULL, universal_newlines=True)
        return out.strip().splitlines()[-1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        cache_home = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
        return os.path.join(cache_home, "pip")


class DiskWatch(threading.Thread):
    """Samples the size of the work directory and of pip's cache; keeps the peak of their sum."""

    def __init__(self, paths, interval=10.0):
        super(DiskWatch, self).__init__(daemon=True)
        self.paths, self.interval = paths, interval
        self.start_bytes = self._used()
        self.peak_bytes = self.start_bytes
        self._stop = threading.Event()

    def _used(self):
        return sum(directory_size(path) for path in self.paths if os.path.isdir(path))

    def run(self):
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, self._used())

    def stop(self):
        self._stop.set()
        self.peak_bytes = max(self.peak_bytes, self._used())


def tox_command():
    if importlib.util.find_spec("tox") is not None:
        return [sys.executable, "-m", "tox"]
    found = shutil.which("tox")
    if not found:
        sys.exit("tox is not installed: pip install -r compat/tox-requirements.txt")
    return [found]


def build_wheel(dist_dir):
    """The package wheel, built once for every environment."""
    shutil.rmtree(dist_dir, ignore_errors=True)
    subprocess.check_call([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--disable-pip-version-check", "-w", dist_dir, ROOT])
    wheels = [name for name in os.listdir(dist_dir) if name.endswith(".whl")]
    return os.path.join(dist_dir, wheels[0])


def summarize(env, log_text, returncode, seconds):
    """One result record from a finished tox run."""
    record = {"env": env, "seconds": round(seconds, 1), "returncode": returncode,
              "setup_seconds": None, "test_seconds": None, "tests": None}
    for match in _TOX_RESULT.finditer(log_text):
        if match.group("env") == env and match.group("setup"):
            record["setup_seconds"] = float(match.group("setup"))
            record["test_seconds"] = float(match.group("cmd"))
    counts = _PYTEST_COUNTS.findall(log_text)
    if counts:
        record["tests"] = counts[-1]
    record["problems"] = [line[:300] for line in _PYTEST_PROBLEMS.findall(log_text)][:20]
    if returncode == 0:
        record["result"] = "pass"
    elif _MISSING_INTERPRETER in log_text:
        record["result"] = "missing interpreter"
    elif returncode is None:
        record["result"] = "timed out"
    else:
        record["result"] = "fail"
    return record


class Runner(object):

    def __init__(self, rows, envs, jobs, workdir, keep, keep_failed, timeout, min_free_gb):
        self.envs, self.jobs, self.workdir = envs, jobs, workdir
        self.setenv = dict((row["env"], row["setenv"]) for row in rows)
        self.tf = dict((row["env"], row["tf"]) for row in rows)
        self.keep, self.keep_failed = keep, keep_failed
        self.timeout, self.min_free = timeout, min_free_gb * GB
        self.logs = os.path.join(workdir, "logs")
        self.results = []
        self._lock = threading.Lock()

    def _free_bytes(self):
        return shutil.disk_usage(self.workdir).free

    def installed_status(self, env, env_workdir):
        """The package's status() in a passed environment, or the reason it could not be read."""
        python = os.path.join(env_workdir, env, "bin", "python")
        variables = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        variables.update(self.setenv[env])
        try:
            out = subprocess.check_output([python, "-c", _STATUS], env=variables, cwd=self.logs,
                                          stderr=subprocess.STDOUT, universal_newlines=True,
                                          timeout=600)
            return json.loads(out.strip().splitlines()[-1])
        except (OSError, ValueError, IndexError, subprocess.SubprocessError) as exc:
            return {"error": str(exc)}

    def run_one(self, env, wheel):
        env_workdir = os.path.join(self.workdir, "work", env)
        shutil.rmtree(env_workdir, ignore_errors=True)   # always a cold environment
        log_path = os.path.join(self.logs, env + ".log")
        command = tox_command() + ["run", "-e", env, "--workdir", env_workdir,
                                   "--installpkg", wheel]
        started = time.time()
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
            try:
                returncode = process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
                returncode = None
        seconds = time.time() - started
        with open(log_path) as log:
            record = summarize(env, log.read(), returncode, seconds)
        record["log"] = os.path.relpath(log_path, ROOT)
        if record["result"] == "pass":
            record["status"] = self.installed_status(env, env_workdir)
        if not (self.keep or (self.keep_failed and record["result"] != "pass")):
            shutil.rmtree(env_workdir, ignore_errors=True)
        with self._lock:
            self.results.append(record)
            print("%-12s %-20s %7.0fs  %s"
                  % (env, record["result"], seconds, record["tests"] or ""), flush=True)

    def run(self):
        os.makedirs(self.logs, exist_ok=True)
        wheel = build_wheel(os.path.join(self.workdir, "dist"))
        # Newest TF first: the biggest wheels and the slowest imports start early and the short
        # TF 1.x runs fill the end, which keeps the last job from running alone for long.
        pending = sorted(self.envs, key=lambda env: generate.version_tuple(self.tf[env]),
                         reverse=True)
        running = []
        while pending or running:
            running = [thread for thread in running if thread.is_alive()]
            room = len(running) < self.jobs
            disk_ok = not running or self._free_bytes() >= self.min_free
            if pending and room and disk_ok:
                thread = threading.Thread(target=self.run_one, args=(pending.pop(0), wheel))
                thread.start()
                running.append(thread)
                continue
            time.sleep(1.0)
        order = {env: index for index, env in enumerate(self.envs)}
        self.results.sort(key=lambda record: order[record["env"]])
        return self.results


def select(rows, label, names):
    if names:
        known = {row["env"]: row for row in rows}
        unknown = [name for name in names if name not in known]
        if unknown:
            sys.exit("not in compat/matrix.json: " + ", ".join(unknown))
        return names
    if label == "ci":
        return [row["env"] for row in rows if row["ci"]]
    if label:
        sys.exit("unknown label %r (known: ci)" % label)
    return [row["env"] for row in rows]


def report(results, wall, disk, path):
    failed = [r for r in results if r["result"] != "pass"]
    print("\n%d environments, %d passed, %d failed; wall time %.1f min"
          % (len(results), len(results) - len(failed), len(failed), wall / 60.0))
    print("peak disk of work directory + pip cache: %.1f GB (%.1f GB at the start)"
          % (disk.peak_bytes / GB, disk.start_bytes / GB))
    print("slowest: " + ", ".join("%s %.0fs" % (r["env"], r["seconds"]) for r in
                                  sorted(results, key=lambda r: -r["seconds"])[:5]))
    for record in failed:
        print("FAILED %s (%s): see %s" % (record["env"], record["result"], record["log"]))
        for line in record["problems"]:      # which tests, so that the CI output alone says
            print("    " + line)
    with open(path, "w") as handle:
        json.dump({"wall_seconds": round(wall, 1), "peak_disk_gb": round(disk.peak_bytes / GB, 2),
                   "start_disk_gb": round(disk.start_bytes / GB, 2), "environments": results},
                  handle, indent=1)
    print("report: " + os.path.relpath(path, ROOT))
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", dest="label", help="run one label of tox.ini (ci)")
    parser.add_argument("-e", dest="envs", help="comma-separated environments")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="environments at once (2)")
    parser.add_argument("--workdir", default=os.path.join(ROOT, ".tox", "matrix"),
                        help="where environments, logs and the report go (.tox/matrix)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each environment (needs the disk of all of them)")
    parser.add_argument("--keep-failed", action="store_true",
                        help="keep the environments that failed, to look into them")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds one environment may take (3600)")
    parser.add_argument("--min-free-gb", type=float, default=5.0,
                        help="start no environment while less is free and one is running (5)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in (args.envs or "").split(",") if name.strip()]
    rows = generate.load_matrix()
    envs = select(rows, args.label, names)
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    disk = DiskWatch([workdir, pip_cache_dir()])
    disk.start()
    started = time.time()
    print("running %d environments, %d at a time: %s" % (len(envs), args.jobs, ", ".join(envs)),
          flush=True)
    results = Runner(rows, envs, args.jobs, workdir, args.keep, args.keep_failed, args.timeout,
                     args.min_free_gb).run()
    disk.stop()
    return report(results, time.time() - started, disk, os.path.join(workdir, "report.json"))


if __name__ == "__main__":
    sys.exit(main())

"""Build the sdist and the wheel, check them, and install the wheel on every interpreter.

What a release needs, checked from outside the source tree::

    python compat/check_dist.py          # .ci/run runs this (needs compat/dist-requirements.txt)
    python compat/check_dist.py --python 3.11 --keep

1. ``python -m build``: an sdist, then a wheel built from that sdist (as pip would build it);
2. ``twine check --strict`` on both;
3. the wheel's metadata: one universal wheel (``py2.py3-none-any``), the SPDX expression in
   ``License-Expression`` and no license classifier, a ``Programming Language :: Python :: X.Y``
   classifier for exactly the interpreters of ``compat/matrix.json`` and those its
   ``Requires-Python`` admits among ``--python``, the extras;
4. for each ``--python`` interpreter (2.7, 3.6, 3.7 and 3.11 by default): a fresh virtual
   environment (virtualenv, which still creates 2.7 and 3.6 ones), ``pip install`` of the
   wheel, then ``tf-rnn-dropout-fix status`` and ``import tf_rnn_dropout_fix`` with no
   TensorFlow installed; one the wheel's ``Requires-Python`` excludes must be refused by pip
   instead.  With ``--sdist`` (default: 3.6 and 3.11) the sdist is installed too, built by that
   interpreter's own setuptools.

Interpreters are looked up as ``pythonX.Y`` on ``PATH`` and among pyenv builds (``toxfile.py``);
a missing one is a failure.  Exit status 0 only if every check passed.
"""
from __future__ import print_function

import argparse
import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "compat"))
import generate  # noqa: E402  (compat/generate.py: reads compat/matrix.json)
import toxfile  # noqa: E402,F401  (puts pyenv builds on PATH)

DEFAULT_PYTHONS = ("2.7", "3.6", "3.7", "3.11")
DEFAULT_SDIST = ("3.6", "3.11")
LICENSE = "Apache-2.0"
EXTRAS = ("tf1", "tf2", "tf2-legacy-keras", "plot", "test")
# The License-Expression (setuptools 77+) or License (older setuptools) lines of the installed
# metadata, printed by the environment's own Python (2.7 included).
_LICENSE_LINES = """
import glob, os, sys, tf_rnn_dropout_fix
site = os.path.dirname(os.path.dirname(tf_rnn_dropout_fix.__file__))
for path in glob.glob(os.path.join(site, "tf_rnn_dropout_fix-*", "*")):
    if os.path.basename(path) in ("METADATA", "PKG-INFO"):
        for line in open(path):
            if line.startswith("License"):
                sys.stdout.write(line)
"""
# Installed and run with no TensorFlow present: pip's own noise aside, this must never show.
_CRASH = "Traceback (most recent call last)"


class Checks(object):
    """Each check's name, outcome and time, printed as it ends."""

    def __init__(self):
        self.results = []

    def run(self, name, function, *args):
        started = time.time()
        try:
            detail = function(*args) or ""
            ok = True
        except Exception as error:   # noqa: BLE001  (any failure is reported, the rest go on)
            detail, ok = str(error), False
        seconds = time.time() - started
        self.results.append({"check": name, "ok": ok, "seconds": round(seconds, 1),
                             "detail": detail})
        print("%s %s (%.0f s)%s" % ("ok  " if ok else "FAIL", name, seconds,
                                    ": " + detail if detail else ""))
        sys.stdout.flush()
        return ok


def _run(command, **kwargs):
    """(returncode, output) of a command; output is stdout and stderr together."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, **kwargs)
    output = process.communicate()[0]
    return process.returncode, output


def _check(command, what, **kwargs):
    code, output = _run(command, **kwargs)
    if code != 0:
        raise RuntimeError("%s failed (exit status %d):\n%s" % (what, code, output[-3000:]))
    return output


def build(dist):
    _check([sys.executable, "-m", "build", "--outdir", dist, ROOT], "python -m build")
    names = sorted(os.listdir(dist))
    wheels = [name for name in names if name.endswith(".whl")]
    sdists = [name for name in names if name.endswith(".tar.gz")]
    if len(wheels) != 1 or len(sdists) != 1:
        raise RuntimeError("expected one wheel and one sdist, got %s" % names)
    return "%s, %s" % (sdists[0], wheels[0])


def twine_check(dist):
    paths = [os.path.join(dist, name) for name in sorted(os.listdir(dist))]
    output = _check([sys.executable, "-m", "twine", "check", "--strict"] + paths, "twine check")
    if "warning" in output.lower():
        raise RuntimeError("twine check warns:\n" + output)
    return "%d files PASSED" % len(paths)


def wheel_path(dist):
    return os.path.join(dist, [name for name in os.listdir(dist) if name.endswith(".whl")][0])


def sdist_path(dist):
    return os.path.join(dist, [name for name in os.listdir(dist) if name.endswith(".tar.gz")][0])


def wheel_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        name = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")][0]
        text = archive.read(name).decode("utf-8")
    return email.parser.Parser().parsestr(text)


def admits(requires_python, version):
    """Whether a Requires-Python specifier admits Python X.Y (``packaging`` comes with build)."""
    from packaging.specifiers import SpecifierSet
    return SpecifierSet(requires_python or "").contains(version + ".0")


def check_metadata(dist, pythons):
    wheel = wheel_path(dist)
    if not os.path.basename(wheel).endswith("-py2.py3-none-any.whl"):
        raise RuntimeError("%s is not a universal py2.py3 wheel" % os.path.basename(wheel))
    meta = wheel_metadata(wheel)
    problems = []
    if meta.get("License-Expression") != LICENSE:
        problems.append("License-Expression is %r, not %r" % (meta.get("License-Expression"),
                                                             LICENSE))
    classifiers = meta.get_all("Classifier") or []
    licenses = [c for c in classifiers if c.startswith("License ::")]
    if licenses:
        problems.append("deprecated license classifiers: %s" % licenses)
    listed = set(c.rsplit(" :: ", 1)[1] for c in classifiers
                 if re.match(r"^Programming Language :: Python :: \d+\.\d+$", c))
    tested = set(row["python"] for row in generate.load_matrix())
    tested |= set(v for v in pythons if admits(meta.get("Requires-Python"), v))
    if listed != tested:
        problems.append("Python classifiers %s, but the tested interpreters are %s"
                        % (sorted(listed), sorted(tested)))
    extras = set(meta.get_all("Provides-Extra") or [])
    if extras != set(EXTRAS):
        problems.append("extras %s, expected %s" % (sorted(extras), sorted(EXTRAS)))
    if problems:
        raise RuntimeError("; ".join(problems))
    return "Requires-Python %s, classifiers for %s" % (meta.get("Requires-Python"),
                                                       ", ".join(sorted(listed)))


def find_python(version):
    found = shutil.which("python" + version)
    if not found:
        raise RuntimeError("python%s is not on PATH nor among pyenv builds" % version)
    return found


def _venv(version, where):
    interpreter = find_python(version)
    _check([sys.executable, "-m", "virtualenv", "--quiet", "-p", interpreter, where],
           "virtualenv -p python%s" % version)
    return os.path.join(where, "bin")


def _environment():
    env = dict((key, value) for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
               and not key.startswith("TF_"))
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run_installed(bindir, version, env):
    """`status` and the import, in an environment without TensorFlow."""
    code, output = _run([os.path.join(bindir, "tf-rnn-dropout-fix"), "status"], env=env,
                        cwd=os.path.dirname(bindir))
    if _CRASH in output or code not in (0, 1) or version not in output:
        raise RuntimeError("`tf-rnn-dropout-fix status` (exit status %d) did not report version "
                           "%s cleanly:\n%s" % (code, version, output[-3000:]))
    imported = _check([os.path.join(bindir, "python"), "-c",
                       "import tf_rnn_dropout_fix; print(tf_rnn_dropout_fix.__version__)"],
                      "import tf_rnn_dropout_fix", env=env, cwd=os.path.dirname(bindir))
    if version not in imported:
        raise RuntimeError("the import printed %r" % imported)
    return "status exit %d" % code


def install(dist, python, what, workdir):
    package = wheel_path(dist) if what == "wheel" else sdist_path(dist)
    meta = wheel_metadata(wheel_path(dist))
    where = os.path.join(workdir, "py%s-%s" % (python, what))
    bindir = _venv(python, where)
    env = _environment()
    pip = [os.path.join(bindir, "python"), "-m", "pip", "install", "--quiet"]
    code, output = _run(pip + [package], env=env, cwd=where)
    if not admits(meta.get("Requires-Python"), python):
        if code == 0 or "requires a different Python" not in output.replace("\n", " "):
            raise RuntimeError("pip did not refuse it for its Requires-Python %s (exit status "
                               "%d):\n%s" % (meta.get("Requires-Python"), code, output[-3000:]))
        return "refused by pip, as Requires-Python %s says" % meta.get("Requires-Python")
    if code != 0:
        raise RuntimeError("pip install %s failed:\n%s" % (os.path.basename(package),
                                                           output[-3000:]))
    pip_version = _check([os.path.join(bindir, "python"), "-m", "pip", "--version"],
                         "pip --version", env=env).split()[1]
    # Old pips' `show` does not know License-Expression: read the installed metadata itself.
    shown = _check([os.path.join(bindir, "python"), "-c", _LICENSE_LINES], "reading the "
                   "installed metadata", env=env, cwd=where)
    if LICENSE not in shown:
        raise RuntimeError("the installed metadata does not carry %s:\n%s" % (LICENSE, shown))
    result = _run_installed(bindir, meta.get("Version"), env)
    return "pip %s; %s; license %s" % (pip_version, result, LICENSE)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=",".join(DEFAULT_PYTHONS),
                        help="interpreters to install the wheel on (%s)" % ",".join(DEFAULT_PYTHONS))
    parser.add_argument("--sdist", default=",".join(DEFAULT_SDIST),
                        help="interpreters to install the sdist on too (%s; '' for none)"
                             % ",".join(DEFAULT_SDIST))
    parser.add_argument("--keep", action="store_true", help="keep the build and the environments")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE")
    args = parser.parse_args(argv)
    pythons = [v.strip() for v in args.python.split(",") if v.strip()]
    sdists = [v.strip() for v in args.sdist.split(",") if v.strip()]
    workdir = tempfile.mkdtemp(prefix="check-dist-")
    dist = os.path.join(workdir, "dist")
    checks = Checks()
    started = time.time()
    try:
        if checks.run("python -m build", build, dist):
            checks.run("twine check --strict", twine_check, dist)
            checks.run("wheel metadata", check_metadata, dist, pythons)
            for python in pythons:
                checks.run("wheel on Python %s" % python, install, dist, python, "wheel", workdir)
            for python in sdists:
                checks.run("sdist on Python %s" % python, install, dist, python, "sdist", workdir)
    finally:
        if args.keep:
            print("kept " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    failed = [r for r in checks.results if not r["ok"]]
    print("packaging checks: %d passed, %d failed, %.0f s"
          % (len(checks.results) - len(failed), len(failed), time.time() - started))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(checks.results, handle, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

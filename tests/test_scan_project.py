"""``scan`` on a multi-module code base (issue 14): names followed across modules, methods,
tables of cell classes, partials and classes; exact messages; SARIF; the flake8 plugin; the
pre-commit hook; the same answer on every interpreter.

The fixture (``scan_fixtures/toolkit``) marks every line that must be reported with
``# expect: CODE``, scanned as ``--tf-version 1.15 --keras-version 3.6``; every other call in it
must stay unreported.
"""
import io
import json
import os
import shutil
import subprocess
import sys

import pytest

import tf_rnn_dropout_fix
from tf_rnn_dropout_fix import _compat, _scan
from tf_rnn_dropout_fix._scan import _resolve

from conftest import ROOT, run_command
from test_scan import _expected      # the `# expect: CODE` marks, read independently

# TF 1.4's wheel installs the enum34 backport, which breaks `re` in a child interpreter whose
# path puts site-packages first.
ENUM34 = any(os.path.exists(os.path.join(folder, "enum", "__init__.py")) for folder in sys.path
             if "site-packages" in folder)
needs_clean_enum = pytest.mark.skipif(ENUM34, reason="the enum34 backport (TF 1.4's wheel) "
                                      "shadows the standard enum in child interpreters")

HERE = os.path.dirname(os.path.abspath(__file__))
# Where the package under test comes from (the checkout, or the tox environment's install):
# subprocesses import that same copy.
PACKAGE_PATH = os.path.dirname(os.path.dirname(os.path.abspath(tf_rnn_dropout_fix.__file__)))
TOOLKIT = os.path.join(HERE, "scan_fixtures", "toolkit")
LEGACY = os.path.join(HERE, "scan_fixtures", "legacy_project")


def _reported(findings, root):
    return set((os.path.relpath(f.path, root), f.line, f.code) for f in findings)


def _scan_toolkit(**options):
    options.setdefault("tf_version", (1, 15))
    options.setdefault("keras_version", (3, 6))
    return _scan.scan_paths([TOOLKIT], **options)[0]


def _message(findings, filename, line, code):
    found = [f.message for f in findings
             if f.path.endswith(filename) and f.line == line and f.code == code]
    assert len(found) == 1, (filename, line, code, [str(f) for f in findings])
    return found[0]


def _line_of(filename, text):
    with io.open(os.path.join(TOOLKIT, "nmt", "models", filename)) as handle:
        for number, line in enumerate(handle, 1):
            if text in line:
                return number
    raise AssertionError(text)


def test_toolkit_reports_exactly_the_marked_calls_both_ways():
    findings = _scan_toolkit()
    expected = _expected(TOOLKIT)
    assert len(expected) == 19
    reported = _reported(findings, TOOLKIT)
    assert reported - expected == set(), "reported but not marked"
    assert expected - reported == set(), "marked but not reported"
    assert len(findings) == len(expected)          # one line per code and call


def test_cells_across_modules_methods_and_configuration_are_named_with_their_place():
    findings = _scan_toolkit()
    custom = _message(findings, "encoder.py", 10, "TRD101")     # import nmt.layers as layers
    assert "MyGRUCell" in custom and os.path.join("nmt", "layers", "rnn_cell.py") in custom
    assert "only warns" in custom and "tf.nn.rnn_cell.GRUCell" in custom
    # A method with branches: one finding per family, each naming its cell and line.
    assert "GRUCell (line 21)" in _message(findings, "encoder.py", 33, "TRD101")
    assert "LSTMCell(state_is_tuple=False) (line 23)" in _message(findings, "encoder.py", 33,
                                                                   "TRD102")
    config = _message(findings, "encoder.py", 40, "TRD202")
    assert "get_instance(...)" in config and "not a GRU" in config
    same_file = _message(findings, "small_cases.py", 23, "TRD104")    # GRU-like by its step
    assert "TinyRecurrent" in same_file and "only warns" in same_file


def test_scoping_keep_one_positional_and_per_step_messages():
    findings = _scan_toolkit()
    grus = _line_of("small_cases.py", "grus = [")
    leak = _message(findings, "small_cases.py", grus + 1, "TRD104")
    assert "GRUCell (line %d)" % grus in leak            # its own cell, not the other list's
    lstm_line = _line_of("small_cases.py", "wrapped_lstms = [")
    assert not [f for f in findings if f.line == lstm_line and f.path.endswith("small_cases.py")]
    kept = _line_of("small_cases.py", "kept = ")
    assert not [f for f in findings if f.line == kept and f.path.endswith("small_cases.py")]
    positional = _message(findings, "small_cases.py", _line_of("small_cases.py", "concat = "),
                          "TRD102")
    assert "BasicLSTMCell(state_is_tuple=False)" in positional
    per_step = _message(findings, "small_cases.py", _line_of("small_cases.py", "per_step = "),
                        "TRD104")
    assert "memory loss, no overflow" in per_step and "overflows" not in per_step
    variational = _message(findings, "small_cases.py",
                           _line_of("small_cases.py", "variational = "), "TRD101")
    assert "until it overflows" in variational and "variational_recurrent=True" in variational
    assert _scan.CODES["TRD104"][0] == _scan.PROBLEM and _scan.RULES["TRD104"][2] == "warning"


def test_keras3_gru_is_reported_only_for_the_affected_keras_releases():
    low, fixed = _compat.KERAS3_GRU_CARRIED_STATE_DROPOUT
    assert (low, fixed) == ((3, 0), (3, 8))
    line = _line_of("small_cases.py", "dropped = tf.keras.layers.GRU")
    for version, reported in (((3, 0), True), ((3, 7), True), ((3, 8), False),
                              ((2, 15), False), (None, False)):
        codes = [f.code for f in _scan_toolkit(keras_version=version)
                 if f.path.endswith("small_cases.py") and f.line == line]
        assert codes == (["TRD105"] if reported else []), version


def test_gru_family_advice_follows_the_runtime_table():
    """GRUBlockCellV2 / CudnnCompatibleGRUCell: rerouted from TF 1.5 (the runtime's table), so
    no "cannot reroute" on 1.15 and a warn-only message on 1.4."""
    assert _resolve.GRU_FAMILIES == dict((name, (fused, since)) for name, fused, since
                                         in _compat.GRU_FAMILIES)
    assert _compat.GRU_CLASS_NAMES == tuple(name for name, _, _ in _compat.GRU_FAMILIES)
    path = os.path.join(LEGACY, "legacy", "tabs_py2.py")
    new = [f.message for f in _scan.scan_file(path, tf_version=(1, 15))]
    old = [f.message for f in _scan.scan_file(path, tf_version=(1, 4))]
    assert new and all("cannot reroute" not in m and "only warns" not in m for m in new), new
    assert old and all("cannot reroute CudnnCompatibleGRUCell" in m and "from TF 1.5" in m
                       for m in old), old
    unknown = [f.message for f in _scan.scan_file(path)]
    assert all("before TF 1.5 it only warns" in m for m in unknown), unknown


def test_noqa_and_ignore_silence_the_unidentified_cell_note(tmp_path, capsys):
    from tf_rnn_dropout_fix.__main__ import main
    source = tmp_path / "wrap.py"
    source.write_text(u"import tensorflow as tf\n"
                      u"def wrap(cell, keep):\n"
                      u"    a = tf.nn.rnn_cell.DropoutWrapper(cell, state_keep_prob=keep)\n"
                      u"    b = tf.nn.rnn_cell.DropoutWrapper(cell, state_keep_prob=keep)  "
                      u"# noqa: TRD202\n")
    assert [(f.line, f.code) for f in _scan.scan_file(str(source))] == [(3, "TRD202")]
    assert main(["scan", str(source)]) == 0                     # a note alone: exit 0
    assert "TRD202" in capsys.readouterr().out
    assert main(["scan", "--ignore", "TRD202", str(source)]) == 0
    assert capsys.readouterr().out == ""


def _cli(argv, **kwargs):
    env = dict(os.environ, PYTHONPATH=PACKAGE_PATH)
    return subprocess.Popen([sys.executable, "-m", "tf_rnn_dropout_fix"] + argv,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            universal_newlines=True, **kwargs)


@needs_clean_enum
def test_sarif_has_the_required_fields_one_result_per_finding_and_rule_metadata():
    rc, out, err = run_command([sys.executable, "-m", "tf_rnn_dropout_fix", "scan", "--format",
                                "sarif", "--tf-version", "1.15", "--keras-version", "3.6",
                                TOOLKIT], {"PYTHONPATH": PACKAGE_PATH})
    assert rc == 1, err
    log = json.loads(out)
    assert log["version"] == "2.1.0" and "sarif-2.1.0" in log["$schema"]
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] and driver["version"] and driver["informationUri"]
    rules = driver["rules"]
    assert [rule["id"] for rule in rules] == list(_scan.CODES)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    findings = _scan_toolkit()
    assert len(run["results"]) == len(findings)
    for result, finding in zip(run["results"], findings):
        assert result["ruleId"] == finding.code
        assert rules[result["ruleIndex"]]["id"] == finding.code
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"] == finding.message
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "file://" + finding.path.replace(
            os.sep, "/")                        # absolute here; a relative path stays relative
        assert location["region"] == {"startLine": finding.line, "startColumn": finding.col}
    assert set(r["level"] for r in run["results"]) == set(["error", "warning", "note"])


@needs_clean_enum
def test_a_closed_pipe_ends_quietly_with_the_same_exit_status():
    proc = _cli(["scan", LEGACY, TOOLKIT])
    proc.stdout.close()                 # the reader goes away before the scan writes
    err = proc.stderr.read()
    proc.wait()
    assert proc.returncode == 1
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def _pyenv_python(prefix):
    """The pyenv build of Python ``prefix`` ('3.6.', '2.7.'), or None."""
    versions = os.path.join(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"),
                            "versions")
    for name in sorted(os.listdir(versions)) if os.path.isdir(versions) else ():
        python = os.path.join(versions, name, "bin", "python")
        if name.startswith(prefix) and os.path.exists(python):
            return python
    return None


def _interpreters():
    return [python for python in (_pyenv_python("3.%d." % minor) for minor in range(6, 14))
            if python is not None]


@needs_clean_enum
def test_the_fixtures_are_read_identically_on_python_3_6_to_3_13():
    """Every pyenv Python 3.6 - 3.13 on this machine gives the same JSON as this one."""
    interpreters = _interpreters()
    if len(interpreters) < 2:
        pytest.skip("needs pyenv builds of Python 3.6 - 3.13 (found %d)" % len(interpreters))
    argv = ["-m", "tf_rnn_dropout_fix", "scan", "--format", "json", "--tf-version", "1.15",
            "--keras-version", "3.6", TOOLKIT, LEGACY]
    outputs = {}
    for python in [sys.executable] + interpreters:
        rc, out, err = run_command([python] + argv, {"PYTHONPATH": PACKAGE_PATH})
        assert rc == 1, (python, err)
        outputs[python] = json.loads(out)
    reference = outputs[sys.executable]
    assert len(reference) > 30
    for python, findings in outputs.items():
        assert findings == reference, python


# The package's own import on Python 2.7 is the py27 environments' business; the scan alone is
# loaded here without it, so that this test says whether the scan reads the same on 2.7.
_PY2_HARNESS = """\
import json, sys, types
package = types.ModuleType("tf_rnn_dropout_fix")
package.__path__ = [sys.argv[1]]
sys.modules["tf_rnn_dropout_fix"] = package
from tf_rnn_dropout_fix import _scan
findings, _ = _scan.scan_paths(sys.argv[2:], (1, 15), (3, 6))
print(json.dumps([finding.as_dict() for finding in findings]))
"""


def test_the_scan_itself_runs_on_python_2_7_with_the_same_findings():
    python = _pyenv_python("2.7.")
    if python is None:
        pytest.skip("no pyenv Python 2.7 here")
    rc, out, err = run_command([python, "-c", _PY2_HARNESS,
                                os.path.join(PACKAGE_PATH, "tf_rnn_dropout_fix"), TOOLKIT, LEGACY])
    assert rc == 0, err
    here = [finding.as_dict() for finding in _scan.scan_paths([TOOLKIT, LEGACY], (1, 15),
                                                              (3, 6))[0]]
    assert json.loads(out) == json.loads(json.dumps(here))


def test_the_installed_tensorflow_scans_fast_and_clean():
    """The TF of this environment, all of it (TF 1.15: tensorflow_core, 2,385 files): no
    finding, and well within the budget of 3 s per 2,400 files (twice that, for a shared CI
    machine)."""
    import time
    import tensorflow as tf
    top = os.path.dirname(os.path.dirname(os.path.abspath(tf.__file__)))
    paths = [os.path.join(top, name) for name in ("tensorflow", "tensorflow_core")
             if os.path.isdir(os.path.join(top, name))]
    started = time.time()
    findings, files = _scan.scan_paths(paths)
    elapsed = time.time() - started
    assert files > 300
    assert [str(f) for f in findings] == []
    assert elapsed < 6.0 * max(1.0, files / 2400.0), (elapsed, files)


def test_the_scan_module_sources_compile_on_python_2_7():
    python = _pyenv_python("2.7.")
    if python is None:
        pytest.skip("no pyenv Python 2.7 here")
    package = os.path.join(PACKAGE_PATH, "tf_rnn_dropout_fix")
    files = [os.path.join(package, "_flake8.py")] + [
        os.path.join(package, "_scan", name) for name in os.listdir(os.path.join(package, "_scan"))
        if name.endswith(".py")]
    code = "import sys, py_compile\nfor f in sys.argv[1:]: py_compile.compile(f, doraise=True, " \
           "cfile='/dev/null')\n"
    rc, _, err = run_command([python, "-c", code] + files, timeout=120)
    assert rc == 0, err


# --- flake8 and pre-commit: where they are installed (the py311 tox environments) ---

def _tool(name):
    path = os.path.join(os.path.dirname(sys.executable), name)
    return path if os.path.exists(path) else None


def test_flake8_select_trd_runs_the_same_checks(tmp_path):
    flake8 = _tool("flake8")
    if flake8 is None:
        pytest.skip("flake8 is not installed in this environment (the py311 tox environments "
                    "install it)")
    copy = str(tmp_path / "toolkit")
    shutil.copytree(TOOLKIT, copy)
    tripwire = tmp_path / "tripwire" / "tensorflow"     # loading the plugin imports no TF
    tripwire.mkdir(parents=True)
    (tripwire / "__init__.py").write_text(u"raise ImportError('tripwire: tensorflow imported')\n")
    path = os.pathsep.join([str(tmp_path / "tripwire"), PACKAGE_PATH])
    rc, out, err = run_command([flake8, "--select", "TRD", "--trd-tf-version", "1.15",
                                "--trd-keras-version", "3.6", "--max-line-length", "200", "nmt"],
                               {"PYTHONPATH": path}, cwd=copy)
    assert rc == 1, err
    assert "tripwire" not in err and "Warning" not in err, err
    reported = set()
    for line in out.splitlines():
        path, number, _, message = line.split(":", 3)
        reported.add((os.path.normpath(path), int(number), message.split()[0]))
    assert reported == _expected(copy)


def test_pre_commit_hook_runs_the_scan_on_staged_files(tmp_path):
    pre_commit, git = _tool("pre-commit"), shutil.which("git") if hasattr(shutil, "which") \
        else None
    if pre_commit is None or git is None:
        pytest.skip("pre-commit is not installed in this environment (the py311 tox "
                    "environments install it)")
    repo = str(tmp_path / "repo")
    shutil.copytree(TOOLKIT, repo)
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), GIT_AUTHOR_NAME="t",
               GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    for command in (["init", "-q"], ["add", "."]):
        subprocess.check_call([git] + command, cwd=repo, env=env)
    rc, out, err = run_command([pre_commit, "try-repo", ROOT, "tf-rnn-dropout-fix-scan",
                                "--all-files"], env, timeout=600, cwd=repo)
    out += err
    assert rc == 1, out
    assert "tf-rnn-dropout-fix scan" in out and "Failed" in out, out
    assert "TRD101" in out and "encoder.py" in out, out

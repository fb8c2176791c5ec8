"""``tf-rnn-dropout-fix scan`` (issue 6): a static audit of a code base for state dropout that
reaches a GRU state or an LSTM memory, Python 2 files included, without importing TensorFlow.

The fixture code base (``scan_fixtures/legacy_project``) marks every line that must be reported
with ``# expect: CODE``; every other DropoutWrapper call in it must stay unreported.
"""
import ast
import io
import json
import os
import re
import shutil
import sys

import pytest

from conftest import run_command
from tf_rnn_dropout_fix import _scan
from tf_rnn_dropout_fix.__main__ import main

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT = os.path.join(HERE, "scan_fixtures", "legacy_project")
_EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")
_LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+):(?P<col>\d+): (?P<code>TRD\d{3}) (?P<message>.+)$")


def _fixture_files(root):
    """The fixture's *.py files, found here independently of the scanner's own walk."""
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                  if f.endswith(".py"))


def _expected(root):
    expected = set()
    for path in _fixture_files(root):
        with io.open(path, encoding="latin-1") as handle:      # any byte decodes
            for number, line in enumerate(handle, 1):
                match = _EXPECT.search(line)
                for code in re.split(r"[\s,]+", match.group(1).strip()) if match else ():
                    expected.add((os.path.relpath(path, root), number, code))
    return expected


def _reported(findings, root):
    return {(os.path.relpath(f.path, root), f.line, f.code) for f in findings}


def test_fixture_code_base_reports_exactly_the_marked_calls_in_python_3_and_python_2_files():
    findings, files = _scan.scan_paths([PROJECT])
    expected = _expected(PROJECT)
    assert len(expected) == 18
    assert files == len(_fixture_files(PROJECT)) == 7      # bin/train and notes.txt not walked
    assert _reported(findings, PROJECT) == expected
    # The Python 2 files were read, not skipped: they hold findings and no TRD900.
    by_file = {os.path.basename(f.path): f.code for f in findings}
    assert by_file["seq2seq_py2.py"].startswith("TRD1") and by_file["tabs_py2.py"] == "TRD104"
    assert by_file["broken.py"] == "TRD900"


def test_text_output_is_flake8_style_with_the_fix_and_exit_status_1(capsys):
    assert main(["scan", PROJECT]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 18 and all(_LINE.match(line) for line in lines), lines
    first = "%s:8:12: TRD101 GRU state dropout, variational: DropoutWrapper(state_keep_prob=" \
            "keep_prob, variational_recurrent=True) on GRUCell (line 6)" % os.path.join(
                PROJECT, "train_gru.py")
    assert any(line.startswith(first) for line in lines), lines
    messages = {(m.group("path").rsplit(os.sep, 1)[-1], int(m.group("line"))): m.group("message")
                for m in map(_LINE.match, lines)}
    assert "fix: `import tf_rnn_dropout_fix`" in messages[("train_gru.py", 8)]
    assert "GRUCell(recurrent_dropout=...)" in messages[("train_gru.py", 30)]        # Keras GRU
    assert "LSTMCell(recurrent_dropout=...)" in messages[("train_gru.py", 31)]       # Keras LSTM
    assert "state_is_tuple=True" in messages[("seq2seq_py2.py", 29)]
    assert "gate_keep_prob" in messages[("cells.py", 18)] and "GRUBlockCellV2" in \
        messages[("cells.py", 18)]                                  # not rerouted: says so
    assert messages[("cells.py", 40)].startswith("note: on TF < 1.4")
    assert "15 problems, 2 notes, 1 file not scanned" in captured.err


def test_json_output_lists_the_same_findings():
    rc, out, _ = _run_cli(["scan", "--format", "json", PROJECT])
    assert rc == 1
    data = json.loads(out)
    assert {(os.path.relpath(d["path"], PROJECT), d["line"], d["code"]) for d in data} \
        == _expected(PROJECT)
    assert set(data[0]) == {"path", "line", "col", "code", "severity", "cell", "message"}
    severities = {d["code"]: d["severity"] for d in data}
    assert severities == {"TRD101": "problem", "TRD102": "problem", "TRD103": "problem",
                          "TRD104": "problem", "TRD201": "note", "TRD202": "note",
                          "TRD900": "not scanned"}


def test_clean_calls_exit_0_and_an_unreadable_file_alone_does_not_set_the_exit_status(capsys):
    assert main(["scan", os.path.join(HERE, "scan_fixtures", "toolkit", "nmt", "layers")]) == 0
    assert capsys.readouterr().out == ""
    assert main(["scan", os.path.join(PROJECT, "broken.py")]) == 0
    assert capsys.readouterr().out.startswith(
        "%s:5:12: TRD900 file not scanned: cannot be parsed" % os.path.join(PROJECT, "broken.py"))


def test_usage_errors_exit_2(capsys):
    for argv in (["scan", os.path.join(PROJECT, "no_such_file.py")], ["scan"],
                 ["scan", "--format", "xml", PROJECT], ["scan", "--tf-version", "one", PROJECT]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2, argv
    assert "no such file or directory" in capsys.readouterr().err


def test_tuple_lstm_is_a_note_a_problem_before_tf_1_4_and_hidden_after(tmp_path):
    source = tmp_path / "lstm.py"
    source.write_text(u"import tensorflow as tf\n"
                      u"c = tf.nn.rnn_cell.DropoutWrapper(tf.nn.rnn_cell.BasicLSTMCell(8), "
                      u"state_keep_prob=0.5)\n")
    assert [f.severity for f in _scan.scan_file(str(source))] == ["note"]
    assert [f.severity for f in _scan.scan_file(str(source), tf_version=(1, 3))] == ["problem"]
    assert _scan.scan_file(str(source), tf_version=(1, 15)) == []
    assert main(["scan", str(source)]) == 0
    assert main(["scan", "--tf-version", "1.3", str(source)]) == 1


def test_walk_skips_vcs_tox_virtualenv_and_site_packages_but_scans_named_files(tmp_path):
    finding = os.path.join(PROJECT, "train_gru.py")
    for folder in ("", ".git", ".tox/py27/lib", "venv/lib", "env/lib/python2.7/site-packages",
                   "__pycache__", "src"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(finding, str(tmp_path / folder / "model.py"))
    (tmp_path / "venv" / "pyvenv.cfg").write_text(u"home = /usr/bin\n")
    findings, files = _scan.scan_paths([str(tmp_path)])
    assert files == 2
    assert {os.path.relpath(f.path, str(tmp_path)) for f in findings} == {
        "model.py", os.path.join("src", "model.py")}
    script = os.path.join(PROJECT, "bin", "train")
    assert [f.code for f in _scan.scan_paths([script])[0]] == ["TRD104"]


def test_python2_rewrite_keeps_every_position_and_parses():
    path = os.path.join(PROJECT, "seq2seq_py2.py")
    with io.open(path, encoding="utf-8") as handle:
        original = handle.read()
    source = original.encode("utf-8")       # with its coding line, as Python 2 and 3 read it
    if sys.version_info[0] >= 3:            # Python 2 reads the original itself
        with pytest.raises(SyntaxError):
            ast.parse(source)
    rewritten = _scan.python2_rewrite(original)
    ast.parse(rewritten.encode("utf-8"))
    assert [len(line) for line in rewritten.splitlines()] == \
        [len(line) for line in original.splitlines()]
    kept = [(o, r) for o, r in zip(original.splitlines(), rewritten.splitlines()) if "rnn." in o]
    assert kept and all(o == r for o, r in kept)        # the lines that matter are untouched


def test_a_scanned_file_is_never_run(tmp_path):
    source = tmp_path / "runs_on_import.py"
    marker = tmp_path / "ran"
    source.write_text(u"open(%r, 'w').close()\nraise SystemExit('imported')\n"
                      u"import tensorflow as tf\n"
                      u"c = tf.contrib.rnn.DropoutWrapper(tf.contrib.rnn.GRUCell(8), "
                      u"state_keep_prob=0.5)\n" % str(marker))
    assert [f.code for f in _scan.scan_file(str(source))] == ["TRD104"]
    assert not marker.exists()


def _run_cli(argv, env=None, command=None):
    return run_command((command or [sys.executable, "-m", "tf_rnn_dropout_fix"]) + argv, env)


def test_scan_never_imports_tensorflow(tmp_path):
    """`python -m tf_rnn_dropout_fix scan` and the console script, with a `tensorflow` on the
    path that fails loudly if anything imports it: same findings, no warning."""
    tripwire = tmp_path / "tripwire" / "tensorflow"
    tripwire.mkdir(parents=True)
    (tripwire / "__init__.py").write_text(u"raise ImportError('tripwire: tensorflow imported')\n")
    path = os.pathsep.join([str(tmp_path / "tripwire")] + [
        p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    commands = [None]
    script = os.path.join(os.path.dirname(sys.executable), "tf-rnn-dropout-fix")
    if os.path.exists(script):         # installed in every tox environment
        commands.append([script])
    for command in commands:
        rc, out, err = _run_cli(["scan", PROJECT], env={"PYTHONPATH": path}, command=command)
        assert rc == 1, err
        assert len(out.splitlines()) == 18
        assert "tripwire" not in err and "Warning" not in err, err

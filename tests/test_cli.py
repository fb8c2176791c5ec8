"""The command line (issue 6): ``status``, the README's demonstration ``repro`` with its plot,
``--help``.  ``scan`` has its own file, test_scan.py."""
import json
import os
import platform
import struct
import sys

import numpy as np
import pytest

from conftest import TF_VERSION, run_command
from tf_rnn_dropout_fix import _repro, _scan
from tf_rnn_dropout_fix.__main__ import main

SCAN_PAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                         "scan.md")


def test_status_reports_python_tf_wrappers_and_where_the_policy_came_from(capsys):
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["patched"] is True and data["gru_policy"] == "reroute"
    assert data["gru_policy_source"] == "default"
    assert data["python"] == platform.python_version()
    assert data["wrappers"] and all(w["corrected"] for w in data["wrappers"])
    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert "on Python %s" % platform.python_version() in text
    assert "GRU policy: reroute (from default)" in text and "corrected" in text


def test_python_m_status_patches_before_reporting_and_names_the_environment_as_source():
    """Started as `python -m`, the package defers its import-time patch to the command line
    (scan must not import TensorFlow); status must still see it applied."""
    rc, out, err = run_command([sys.executable, "-m", "tf_rnn_dropout_fix", "status", "--json"],
                               {"TF_RNN_DROPOUT_FIX_GRU_POLICY": "warn"})
    assert rc == 0, err[-3000:]
    data = json.loads(out)
    assert data["patched"] is True
    assert (data["gru_policy"], data["gru_policy_source"]) == ("warn", "environment")


def test_repro_shows_stock_exploding_and_corrected_finite(capsys):
    assert main(["repro", "--steps", "700", "--cell", "gru"]) == 0
    lines = capsys.readouterr().out.splitlines()
    stock = [l for l in lines if l.split()[:2] == ["gru", "stock"]][0].split()
    fixed = [l for l in lines if l.split()[:2] == ["gru", "corrected"]][0].split()
    assert stock[-1] in ("nan", "inf")
    assert fixed[-1] not in ("nan", "inf") and float(fixed[-2]) <= 1.0


def _png_size(path):
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_repro_plot_draws_stock_and_corrected_on_a_log_axis(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    import matplotlib.image
    target = str(tmp_path / "repro.png")
    assert main(["repro", "--steps", "120", "--cell", "gru", "--plot", target]) == 0
    assert "plot written to %s" % target in capsys.readouterr().out
    assert _png_size(target) == (352, 288)          # one panel: 4.4 x 3.6 in at 80 dpi
    pixels = matplotlib.image.imread(target)[:, :, :3]
    for colour in ("#d62728", "#1f77b4"):           # the stock and the corrected curves
        rgb = np.array([int(colour[i:i + 2], 16) / 255.0 for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).max(axis=2) < 0.05).sum() > 50, colour


def test_plot_marks_where_stock_overflows_instead_of_drawing_inf_or_nan(tmp_path):
    pytest.importorskip("matplotlib")
    steps = np.arange(1, 201, dtype=np.float64)
    stock = 1.2 ** steps
    stock[149:170], stock[170:] = np.inf, np.nan
    fixed = np.full(200, 0.9)
    comparison = _repro.Comparison("gru", stock, float("nan"), fixed, 0.13)
    figure = _repro.plot([comparison], str(tmp_path / "marks.png"), "test")
    axes = figure.axes[0]
    assert axes.get_yscale() == "log"
    assert [t.get_text() for t in axes.texts] == ["stock: inf from t=150, nan from t=171"]
    stock_line = axes.get_lines()[0]
    assert np.isnan(stock_line.get_ydata()[149:]).all()
    assert np.isfinite(stock_line.get_ydata()[:149]).all()
    assert "stock (loss after 1 step: nan)" in [t.get_text() for t in axes.get_legend().texts]
    assert "TensorFlow test" in figure.texts[0].get_text()


def test_repro_plot_without_matplotlib_says_how_to_get_it(monkeypatch, capsys, tmp_path):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")] + [
            "matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"]:
        monkeypatch.setitem(sys.modules, name, None)     # this interpreter has no matplotlib
    assert main(["repro", "--plot", str(tmp_path / "x.png"), "--steps", "3"]) == 2
    captured = capsys.readouterr()
    assert "pip install 'tf-rnn-dropout-fix[plot]'" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "x.png").exists()


def test_help_explains_every_command_and_every_scan_code(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    for word in ("status", "repro", "scan", "import tf_rnn_dropout_fix", "examples:"):
        assert word in text
    with pytest.raises(SystemExit):
        main(["scan", "--help"])
    text = capsys.readouterr().out
    with open(SCAN_PAGE) as handle:
        readme = handle.read()
    for code in _scan.CODES:
        assert code in text and code in readme, code
    assert "exit status" in text


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert "repro" in capsys.readouterr().out
    for argv in (["repro", "--steps", "0"], ["repro", "--cell", "rnn"], ["frobnicate"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2, argv


@pytest.mark.skipif(TF_VERSION < (1, 4), reason="the tuple-state LSTM explodes too before TF 1.4")
def test_readme_demonstration_table_matches_this_tf_for_the_tuple_lstm(capsys):
    """docs/usage.md says the tuple-state LSTM rows are identical on TF >= 1.4."""
    assert main(["repro", "--steps", "30", "--cell", "lstm"]) == 0
    rows = [l.split()[2:] for l in capsys.readouterr().out.splitlines()
            if l.split()[:1] == ["lstm"]]
    assert len(rows) == 2 and rows[0] == rows[1]

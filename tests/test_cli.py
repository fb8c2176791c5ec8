"""The README's demonstration command and ``status`` on the installed TensorFlow."""
import json

from tf_rnn_dropout_fix.__main__ import main


def test_status_json_reports_the_patch(capsys):
    assert main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["patched"] is True and data["gru_policy"] == "reroute"


def test_repro_shows_stock_exploding_and_corrected_finite(capsys):
    assert main(["repro", "--steps", "700", "--cell", "gru"]) == 0
    lines = capsys.readouterr().out.splitlines()
    stock = [l for l in lines if l.split()[:2] == ["gru", "stock"]][0].split()
    fixed = [l for l in lines if l.split()[:2] == ["gru", "corrected"]][0].split()
    assert stock[-1] in ("nan", "inf")
    assert fixed[-1] not in ("nan", "inf") and float(fixed[-2]) <= 1.0


def test_help_and_usage_errors(capsys):
    assert main([]) == 2
    assert "repro" in capsys.readouterr().out

"""``bench``, the cost benchmark, at a tiny size: the JSON report users and CI scripts read."""
import collections
import json

import pytest

import tensorflow as tf
from conftest import TF_VERSION
from tf_rnn_dropout_fix import _bench
from tf_rnn_dropout_fix.__main__ import main

TINY = ["--batch", "2", "--units", "4", "--steps", "3", "--repeats", "2", "--warmup", "1"]


def test_bench_json_reports_every_case_and_the_target_ratios(capsys):
    assert main(["bench", "--json"] + TINY) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last, object_pairs_hook=collections.OrderedDict)   # in case order
    assert report["tf_version"] == tf.__version__
    assert dict((k, report["config"][k]) for k in ("batch", "units", "steps", "repeats")) == \
        {"batch": 2, "units": 4, "steps": 3, "repeats": 2}
    expected = ["gru_nodrop", "gru_stock_state_dropout", "gru_reroute", "gru_gate_dropout",
                "lstm_nodrop", "lstm_stock_state_dropout", "lstm_state_dropout",
                "lstm_gate_dropout"]
    if TF_VERSION >= (2, 0):
        expected.extend(["keras_gru_recurrent_dropout", "keras_rnn_gru_reroute"])
    assert list(report["cases"]) == expected
    for name, case in report["cases"].items():
        assert case["runs"] == 2, name
        assert 0 < case["min_s"] <= case["median_s"] <= case["max_s"], (name, case)
    assert len(report["ratios"]) == (6 if TF_VERSION >= (2, 0) else 4)
    if TF_VERSION >= (2, 0):
        assert report["ratios"]["keras_rnn_gru_reroute/keras_gru_recurrent_dropout"][
            "target"] == 1.00
    ratio = report["ratios"]["gru_reroute/gru_stock_state_dropout"]
    assert ratio["target"] == 1.10
    assert ratio["ratio"] == pytest.approx(report["cases"]["gru_reroute"]["median_s"]
                                           / report["cases"]["gru_stock_state_dropout"]["median_s"])


def test_bench_measures_the_reroute_or_says_why_not(monkeypatch):
    monkeypatch.setenv("TF_RNN_DROPOUT_FIX_GRU_POLICY", "warn")
    config = dict(_bench.DEFAULTS, batch=2, units=4, steps=3)
    with pytest.raises(RuntimeError, match="gru_reroute needs .*gru_policy='reroute'"):
        _bench.build_case("gru_reroute", config)


@pytest.mark.parametrize("argv", [["--repeats", "0"], ["--cases", "gru_nodrop,gru_bogus"],
                                  ["--units", "many"]])
def test_bench_rejects_bad_options(argv, capsys):
    with pytest.raises(SystemExit):
        main(["bench"] + argv)
    assert "bench" in capsys.readouterr().err

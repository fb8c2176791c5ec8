"""Importing the package: cost, what it imports, the off switch, and a missing TensorFlow.

Each case runs in a fresh interpreter, the only way to observe an import.
"""
import json

from conftest import run_python

_MEASURE = """
import json, sys, time
start = time.perf_counter()
import tensorflow
after_tf = time.perf_counter()
before = set(sys.modules)
import tf_rnn_dropout_fix
done = time.perf_counter()
new = sorted(m for m in set(sys.modules) - before
             if not m.startswith("tf_rnn_dropout_fix"))
print(json.dumps({"tf": after_tf - start, "ours": done - after_tf, "new": new,
                  "patched": tf_rnn_dropout_fix.is_patched()}))
"""


def test_import_costs_at_most_five_percent_of_importing_tensorflow_and_imports_nothing_else():
    ratios = []
    for _ in range(3):
        rc, out, err = run_python(_MEASURE)
        assert rc == 0, err[-3000:]
        result = json.loads(out.strip().splitlines()[-1])
        assert result["patched"] is True
        assert result["new"] == [], "the package imported %s" % result["new"]
        ratios.append(result["ours"] / result["tf"])
    assert min(ratios) <= 0.05, ratios


def test_environment_switch_off_leaves_tensorflow_stock():
    rc, out, err = run_python("import tf_rnn_dropout_fix as f; print(f.is_patched(), "
                              "f.status().problem)", env={"TF_RNN_DROPOUT_FIX": "off"})
    assert rc == 0, err[-3000:]
    assert out.startswith("False") and "TF_RNN_DROPOUT_FIX" in out


def test_bad_environment_policy_is_an_error_at_import():
    rc, out, err = run_python("import tf_rnn_dropout_fix",
                              env={"TF_RNN_DROPOUT_FIX_GRU_POLICY": "loud"})
    assert rc != 0 and "TF_RNN_DROPOUT_FIX_GRU_POLICY" in err and "reroute" in err


_NO_TF = """
import sys, warnings
sys.modules["tensorflow"] = None          # this interpreter cannot import TensorFlow
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import tf_rnn_dropout_fix as f
print("warned:", [w.category.__name__ for w in caught])
print("patched:", f.is_patched(), "problem:", f.status().problem)
try:
    f.patch(strict=True)
except ImportError as exc:
    print("strict:", exc)
"""


def test_missing_tensorflow_warns_instead_of_raising_and_strict_raises_with_a_hint():
    rc, out, err = run_python(_NO_TF)
    assert rc == 0, err[-3000:]
    assert "RNNDropoutWarning" in out
    assert "patched: False" in out and "not installed" in out
    assert "strict:" in out and "pip install tensorflow" in out

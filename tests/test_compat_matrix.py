"""compat/matrix.json is the single source: tox.ini and the README table must follow it."""
import configparser
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _matrix():
    with open(os.path.join(ROOT, "compat", "matrix.json")) as handle:
        return json.load(handle)["environments"]


def test_tox_env_list_and_deps_follow_the_matrix():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, "tox.ini"))
    envs = [e.strip() for e in parser["tox"]["env_list"].split(",") if e.strip()]
    assert envs == [e["env"] for e in _matrix()]
    deps = parser["testenv"]["deps"]
    set_env = parser["testenv"]["set_env"]
    for env in _matrix():
        factor = env["env"].split("-")[1]
        assert "%s: -r %s" % (factor, env["constraints"]) in deps
        assert os.path.exists(os.path.join(ROOT, env["constraints"]))
        for name, value in env["setenv"].items():
            assert "%s: %s = %s" % (factor, name, value) in set_env


def test_readme_compatibility_table_follows_the_matrix():
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    for env in _matrix():
        row = "| %s | %s | `%s` | %s |" % (env["tf"], env["python"], env["env"], env["verified"])
        assert row in readme, "README table row missing or stale: " + row

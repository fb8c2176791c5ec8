"""tox plugin (loaded by tox 4 from the project root): find pyenv-built interpreters.

Developers' and CI machines keep Python 3.6, 3.7 and 3.11 as pyenv builds that are not on
``PATH``.  Before tox looks for ``python3.X`` we append every ``$(pyenv root)/versions/*/bin``
to ``PATH``.  On a machine without pyenv nothing changes, and an environment whose interpreter
is missing fails (``skip_missing_interpreters = false`` in tox.ini), it is never skipped.
"""
import glob
import os
import subprocess


def _pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root:
        return root
    try:
        return subprocess.check_output(["pyenv", "root"], universal_newlines=True).strip()
    except (OSError, subprocess.CalledProcessError):
        default = os.path.expanduser("~/.pyenv")
        return default if os.path.isdir(default) else None


def _add_pyenv_builds_to_path():
    root = _pyenv_root()
    if not root:
        return
    bins = sorted(glob.glob(os.path.join(root, "versions", "*", "bin")))
    path = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join(path + [b for b in bins if b not in path])


_add_pyenv_builds_to_path()

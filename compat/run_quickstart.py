"""Run the README's Quick start block, as it stands, on a fresh clone: it cannot go stale.

The block is the one fenced ``bash`` block of the README's ``## Quick start`` section.  This
script clones the repository's committed ``HEAD`` into a temporary directory (``--worktree``
copies the working tree instead: tracked and untracked files git does not ignore), runs the
block there with ``bash -e`` (any failing command fails the run) in an environment cleared of
virtual environments and of the variables the package and TensorFlow read, then checks what a
reader is promised: the demonstration ran, stock overflowed and the corrected wrapper did not,
and the figure was written.  Exit status 0 only if all of that holds.  Standard library only::

    python compat/run_quickstart.py              # .ci/run runs this before the matrix
    python compat/run_quickstart.py --worktree --keep
"""
from __future__ import print_function

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
SECTION = "## Quick start"
FIGURE = "repro.png"
# Variables that would make the run depend on the caller's shell rather than on the block.
_CLEARED = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONHASHSEED", "CONDA_PREFIX",
            "TOX_ENV_NAME", "TOX_WORK_DIR", "PIP_REQUIRE_VIRTUALENV", "PIP_USER")
_FENCE = re.compile(r"^```([A-Za-z0-9_-]*)[ \t]*$")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def section(text, heading=SECTION):
    """The lines of one ``## `` section of a Markdown text, heading excluded."""
    lines = text.splitlines()
    try:
        start = lines.index(heading) + 1
    except ValueError:
        raise ValueError("README.md has no %r section" % heading)
    stop = start
    while stop < len(lines) and not lines[stop].startswith("## "):
        stop += 1
    return lines[start:stop]


def fenced_blocks(lines):
    """[(language, body)] of the fenced code blocks in these lines."""
    blocks, language, body = [], None, []
    for line in lines:
        match = _FENCE.match(line)
        if language is None and match:
            language, body = match.group(1), []
        elif language is not None and line.rstrip() == "```":
            blocks.append((language, "\n".join(body) + "\n"))
            language = None
        elif language is not None:
            body.append(line)
    if language is not None:
        raise ValueError("an unclosed code block in the Quick start section")
    return blocks


def quickstart_block(text):
    """The one ``bash`` block of the Quick start section; ValueError unless there is exactly one."""
    blocks = fenced_blocks(section(text))
    if len(blocks) != 1 or blocks[0][0] != "bash":
        raise ValueError("the Quick start section must hold exactly one fenced ```bash block, "
                         "found %s" % ([language or "(no language)" for language, _ in blocks],))
    return blocks[0][1]


def read_readme(path=README):
    with io.open(path, encoding="utf-8") as handle:
        return handle.read()


def fresh_copy(dest, worktree):
    """A fresh clone of HEAD at dest, or (worktree) a copy of the files git would commit."""
    if not worktree:
        head = subprocess.check_output(["git", "-C", ROOT, "rev-parse", "HEAD"],
                                       universal_newlines=True).strip()
        subprocess.check_call(["git", "clone", "--quiet", "--no-checkout", ROOT, dest])
        subprocess.check_call(["git", "-C", dest, "checkout", "--quiet", head])
        return head
    names = subprocess.check_output(
        ["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        universal_newlines=True).split("\0")
    for name in names:
        source = os.path.join(ROOT, name)
        if name and os.path.isfile(source):
            target = os.path.join(dest, name)
            if not os.path.isdir(os.path.dirname(target)):
                os.makedirs(os.path.dirname(target))
            shutil.copy2(source, target)
    return "working tree"


def clean_environment():
    """The caller's environment without virtual environments or package and TF settings."""
    env = dict((key, value) for key, value in os.environ.items()
               if key not in _CLEARED and not key.startswith("TF_"))
    venv = os.environ.get("VIRTUAL_ENV")
    drop = set(path for path in (venv and os.path.join(venv, "bin"),
                                 os.path.join(ROOT, ".ci", "venv", "bin")) if path)
    env["PATH"] = os.pathsep.join(path for path in os.environ.get("PATH", "").split(os.pathsep)
                                  if path.rstrip(os.sep) not in drop)
    return env


def _table_rows(output, cell):
    """{wrapper: row tokens} of the demonstration's table for one cell."""
    rows = {}
    for line in output.splitlines():
        tokens = line.split()
        if len(tokens) > 2 and tokens[0] == cell and tokens[1] in ("stock", "corrected"):
            rows[tokens[1]] = tokens[2:]
    return rows


def demonstration_problems(output, clone):
    """What the Quick start promised and did not show, one sentence each."""
    problems = []
    rows = _table_rows(output, "gru")
    if set(rows) != set(["stock", "corrected"]):
        problems.append("no GRU stock / corrected rows in the demonstration's output")
    else:
        if not any(value in ("nan", "inf") for value in rows["stock"]):
            problems.append("the stock GRU did not overflow: %s" % " ".join(rows["stock"]))
        if any(value in ("nan", "inf") for value in rows["corrected"]):
            problems.append("the corrected GRU overflowed: %s" % " ".join(rows["corrected"]))
    figure = os.path.join(clone, FIGURE)
    if not os.path.isfile(figure):
        problems.append("the figure %s was not written" % FIGURE)
    else:
        with open(figure, "rb") as handle:
            if handle.read(len(_PNG_MAGIC)) != _PNG_MAGIC:
                problems.append("%s is not a PNG image" % FIGURE)
    return problems


def run(worktree=False, keep=False, timeout=1800):
    block = quickstart_block(read_readme())
    work = tempfile.mkdtemp(prefix="quickstart-")
    clone = os.path.join(work, "tf-rnn-dropout-fix")
    started = time.time()
    try:
        source = fresh_copy(clone, worktree)
        print("Quick start of README.md (%s), in %s:\n%s" % (source, clone, block))
        sys.stdout.flush()
        process = subprocess.Popen(["bash", "-e", "-x", "-c", block], cwd=clone,
                                   env=clean_environment(), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, universal_newlines=True)
        output = []
        for line in iter(process.stdout.readline, ""):
            output.append(line)
            sys.stdout.write(line)
            sys.stdout.flush()
            if time.time() - started > timeout:
                process.kill()
                break
        returncode = process.wait()
        seconds = time.time() - started
        if seconds > timeout:
            problems = ["the Quick start ran past %d s" % timeout]
        elif returncode != 0:
            problems = ["the Quick start block exited with status %d" % returncode]
        else:
            problems = demonstration_problems("".join(output), clone)
        for problem in problems:
            print("QUICK START FAILED: " + problem, file=sys.stderr)
        print("Quick start: %s in %.0f s (%.1f min)"
              % ("FAILED" if problems else "passed", seconds, seconds / 60.0))
        return 1 if problems else 0
    finally:
        if keep:
            print("kept " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worktree", action="store_true",
                        help="copy the working tree (uncommitted files too) instead of cloning HEAD")
    parser.add_argument("--keep", action="store_true", help="keep the clone and its .venv")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds the block may take (1800)")
    parser.add_argument("--print", action="store_true", dest="print_only",
                        help="print the extracted block and exit")
    args = parser.parse_args(argv)
    if args.print_only:
        sys.stdout.write(quickstart_block(read_readme()))
        return 0
    return run(args.worktree, args.keep, args.timeout)


if __name__ == "__main__":
    sys.exit(main())

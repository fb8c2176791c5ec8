"""The README and the docs/ pages: links that resolve, a Quick start CI can run, lines a reader
can read.  No TensorFlow needed.

* every relative link and image in README.md, docs/*.md, compat/README.md and CHANGELOG.md
  names a file or folder that exists, and its #anchor a heading of that page;
* every docs/ page is linked from the README;
* the README's Quick start section holds exactly one bash block, the one
  compat/run_quickstart.py runs, and it installs this checkout and runs the demonstration;
* prose lines (outside code blocks and tables) are at most 100 characters.
"""
import io
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "compat"))
import run_quickstart  # noqa: E402

DOCS = os.path.join(ROOT, "docs")
PAGES = (["README.md", os.path.join("compat", "README.md"), "CHANGELOG.md"]
         + [os.path.join("docs", name) for name in sorted(os.listdir(DOCS))
            if name.endswith(".md")])
# [text](target) and ![alt](target); the text may hold backticks and brackets-free words.
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def _read(relative):
    with io.open(os.path.join(ROOT, relative), encoding="utf-8") as handle:
        return handle.read()


def prose_lines(text):
    """(number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def slug(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower(), flags=re.UNICODE)
    return text.replace(" ", "-")


def anchors(relative):
    return set(slug(_HEADING.match(line).group(1)) for _, line in prose_lines(_read(relative))
               if _HEADING.match(line))


def links(relative):
    """(line number, target) of every link and image of a page, code blocks excepted."""
    for number, line in prose_lines(_read(relative)):
        for target in _LINK.findall(re.sub(r"`[^`]*`", "``", line)):
            yield number, target


def dead_links(relative):
    dead = []
    for number, target in links(relative):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue   # http:, https:, mailto:: not checked offline
        path, _, anchor = target.partition("#")
        resolved = (os.path.normpath(os.path.join(os.path.dirname(relative), path)) if path
                    else relative)
        where = "%s:%d: %s" % (relative, number, target)
        if not os.path.exists(os.path.join(ROOT, resolved)):
            dead.append(where + " (no such file)")
        elif anchor and (not resolved.endswith(".md") or anchor not in anchors(resolved)):
            dead.append(where + " (no such heading)")
    return dead


def test_every_relative_link_and_anchor_resolves():
    dead = []
    for page in PAGES:
        dead.extend(dead_links(page))
    assert dead == []


def test_the_link_check_finds_a_dead_file_and_a_dead_anchor():
    page = os.path.join("docs", "usage.md")
    found = [target for _, target in links(page)]
    assert "reliability.md#bad-input" in found and "repro.png" in found
    assert "bad-input" in anchors(os.path.join("docs", "reliability.md"))
    assert slug("Gate dropout: `gate_keep_prob`") == "gate-dropout-gate_keep_prob"
    assert slug("Audit a code base: `scan`") == "audit-a-code-base-scan"
    probe = "docs/_probe_%d.md" % os.getpid()
    with io.open(os.path.join(ROOT, probe), "w", encoding="utf-8") as handle:
        handle.write(u"# Probe\n\n[a](usage.md#no-such-heading) [b](missing.md) [c](#probe)\n"
                     u"`[d](in-code.md)` [e](https://example.org/x)\n")
    try:
        assert dead_links(probe) == [probe + ":3: usage.md#no-such-heading (no such heading)",
                                     probe + ":3: missing.md (no such file)"]
    finally:
        os.remove(os.path.join(ROOT, probe))


def test_every_docs_page_is_linked_from_the_readme():
    linked = set(os.path.normpath(target.partition("#")[0]) for _, target in links("README.md"))
    pages = set(page for page in PAGES if page.startswith("docs" + os.sep))
    assert pages - linked == set()
    for name in ("scan", "bench", "reliability", "gate-dropout", "keras", "compatibility"):
        assert os.path.join("docs", name + ".md") in pages


def test_readme_quick_start_is_one_bash_block_that_installs_this_checkout_and_runs_repro():
    readme = _read("README.md")
    block = run_quickstart.quickstart_block(readme)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert any("-m venv" in command for command in commands)
    install = [command for command in commands if command.startswith("pip install")]
    assert len(install) == 1 and "'.[" in install[0] and "plot" in install[0]
    assert [c for c in commands if c.startswith("tf-rnn-dropout-fix repro") and "--plot" in c]
    # The Quick start comes right after the opening lines, before everything else.
    headings = [line for _, line in prose_lines(readme) if line.startswith("## ")]
    assert headings[0] == run_quickstart.SECTION


def test_quick_start_extraction_refuses_zero_or_two_blocks():
    one = u"# T\n\n## Quick start\n\n```bash\necho hi\n```\n\n## Next\n\n```bash\nls\n```\n"
    assert run_quickstart.quickstart_block(one) == u"echo hi\n"
    for text in (u"## Quick start\n\nno block\n## Next\n",
                 u"## Quick start\n```bash\na\n```\n```bash\nb\n```\n",
                 u"## Quick start\n```\na\n```\n", u"# no section\n"):
        try:
            run_quickstart.quickstart_block(text)
        except ValueError:
            continue
        raise AssertionError("accepted: %r" % text)


def test_the_quick_start_check_reads_the_demonstration_output(tmp_path):
    good = ("cell    wrapper  max|state| t=1  max|state| t=700  loss after 1 step\n"
            " gru      stock           0.783               nan                nan\n"
            " gru  corrected           0.783             0.964               0.13\n")
    figure = tmp_path / run_quickstart.FIGURE
    figure.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    assert run_quickstart.demonstration_problems(good, str(tmp_path)) == []
    bad = good.replace("0.964", "inf")
    assert run_quickstart.demonstration_problems(bad, str(tmp_path)) == [
        "the corrected GRU overflowed: 0.783 inf 0.13"]
    os.remove(str(figure))
    assert run_quickstart.demonstration_problems(good, str(tmp_path)) == [
        "the figure repro.png was not written"]


def test_prose_lines_of_the_readme_and_docs_are_at_most_100_characters():
    long_lines = []
    for page in ["README.md"] + [p for p in PAGES if p.startswith("docs" + os.sep)]:
        for number, line in prose_lines(_read(page)):
            if len(line) > 100 and not line.startswith("|"):
                long_lines.append("%s:%d (%d)" % (page, number, len(line)))
    assert long_lines == []

"""Reading the files of a code base: walking, decoding, parsing Python 2 and Python 3 sources.

Legacy TF1 code is often Python 2.  A file this interpreter cannot parse is tokenized and its
Python 2-only statements blanked out (``print x``, ``exec s``, ``except E, e``, ``raise E, m``,
backticks, ``0777``, ``10L``, ``ur''``, ``<>``) with every other character left where it was, so
the positions reported are those of the original file.  Run on Python 2.7, the scan parses
Python 2 sources natively and Python 3 sources that Python 2 can read.
"""
import ast
import codecs
import io
import os
import re
import tokenize

from tf_rnn_dropout_fix import _pycompat
from tf_rnn_dropout_fix._pycompat import PY2

_SKIPPED_DIRS = (".git", ".hg", ".svn", ".bzr", ".tox", ".nox", ".eggs", "__pycache__",
                 "site-packages", "dist-packages", "node_modules")
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z0-9, ]+))?", re.I)
_CODING = re.compile(br"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _is_environment(directory):
    """A virtualenv, venv or conda environment: third-party code, not the code base."""
    return any(os.path.exists(os.path.join(directory, marker)) for marker in
               ("pyvenv.cfg", "conda-meta", os.path.join("bin", "activate"),
                os.path.join("Scripts", "activate.bat")))


def python_files(path):
    """``path`` itself if it is a file (whatever its name), else the *.py files under it."""
    if not os.path.isdir(path):
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS
                         and not _is_environment(os.path.join(root, d)))
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(root, name)


def module_name(path, _packages={}):
    """The dotted name a file is imported by: its stem, under every package folder above it.

    ``src/pkg/layers/rnn_cell.py`` with ``pkg/__init__.py`` and ``pkg/layers/__init__.py`` is
    ``pkg.layers.rnn_cell``; a package's ``__init__.py`` is the package itself.
    """
    directory, name = os.path.split(os.path.abspath(path))
    stem = name[:-3] if name.endswith(".py") else name
    package = _package_of(directory, _packages)
    parts = ([package] if package else []) + ([] if stem == "__init__" else [stem])
    return ".".join(parts)


def _package_of(directory, cache):
    """The dotted package name of a folder ('' when it is no package), one look per folder."""
    if directory not in cache:
        parent, name = os.path.split(directory)
        if name and os.path.isfile(os.path.join(directory, "__init__.py")):
            above = _package_of(parent, cache) if parent != directory else ""
            cache[directory] = above + "." + name if above else name
        else:
            cache[directory] = ""
    return cache[directory]


def decode(data):
    """Source bytes to text: the BOM or coding cookie (PEP 263), else UTF-8, else Latin-1.

    Python 2 files often hold Latin-1 bytes in comments without a cookie; Latin-1 decodes any
    byte, and the code we look for is ASCII.
    """
    encoding = "utf-8"
    if data.startswith(codecs.BOM_UTF8):
        data, encoding = data[len(codecs.BOM_UTF8):], "utf-8"
    else:
        for line in data.split(b"\n", 2)[:2]:
            match = _CODING.match(line)
            if match:
                encoding = match.group(1).decode("ascii")
                break
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return data.decode("latin-1")


# A code split out of an older one: a `# noqa` written for the older code still silences it.
_SPLIT_FROM = {"TRD104": "TRD101"}


def suppressed(line_text, code):
    """True when the line's ``# noqa`` (bare, or naming ``code``) silences ``code``."""
    match = _NOQA.search(line_text)
    if not match:
        return False
    codes = match.group("codes")
    named = re.split(r"[\s,]+", codes.upper()) if codes else ()
    return codes is None or code in named or _SPLIT_FROM.get(code) in named


def column(line_text, byte_offset):
    """AST columns count UTF-8 bytes; report characters, 1-based, as flake8 does."""
    return len(line_text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore")) + 1


def _parse(text):
    if PY2:     # Python 2 parses bytes; a coding cookie would contradict the UTF-8 they are in
        return ast.parse(_CODING_LINE.sub(u"#", text).encode("utf-8"))
    return ast.parse(text)


_CODING_LINE = re.compile(u"^[ \t\f]*#.*?coding[:=].*$", re.M)


def parse(text):
    """The module's AST, reading Python 2 syntax too; raises SyntaxError when nothing works."""
    error = None
    attempts = (lambda: text, lambda: python2_rewrite(text),
                lambda: python2_rewrite(_expand_leading_tabs(text)))
    for attempt in attempts[:1] if PY2 else attempts:   # Python 2 reads Python 2 itself
        try:
            return _parse(attempt())
        except SyntaxError as exc:          # IndentationError and TabError included
            error = exc
        except (ValueError, tokenize.TokenError, _pycompat.RecursionError) as exc:   # NUL bytes, ...
            error = error or SyntaxError("%s: %s" % (type(exc).__name__, exc))
    raise error


def _expand_leading_tabs(text):
    """Python 2 read a tab as indentation to the next multiple of 8; Python 3 refuses mixtures."""
    lines = io.StringIO(text).readlines()
    for index, line in enumerate(lines):
        body = line.lstrip(" \t")
        lines[index] = line[:len(line) - len(body)].expandtabs(8) + body
    return "".join(lines)


_COMPOUND_STATEMENTS = ("if", "elif", "else", "for", "while", "try", "except", "finally",
                        "with", "def", "class")


def _statements(tokens):
    """Split significant tokens into simple statements and compound-statement headers."""
    statement, depth = [], 0
    for token in tokens:
        if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if statement:
                yield statement
            statement, depth = [], 0
            continue
        if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            continue
        if token.type == tokenize.OP and token.string in ("(", "[", "{"):
            depth += 1
        elif token.type == tokenize.OP and token.string in (")", "]", "}"):
            depth = max(depth - 1, 0)
        elif depth == 0 and token.type == tokenize.OP and (
                token.string == ";" or token.string == ":" and statement
                and statement[0].string in _COMPOUND_STATEMENTS):
            yield statement + [token]
            statement = []
            continue
        statement.append(token)
    if statement:
        yield statement


def python2_rewrite(text):
    """``text`` with Python 2-only syntax blanked out; every other character stays in place."""
    tokens = list(_pycompat.generate_tokens(io.StringIO(text).readline))
    lines = io.StringIO(text).readlines()       # the rows tokenize counts (not str.splitlines)
    token_edits, statement_edits = [], []   # (start, end, replacement written at start)

    def blank(start, end, replacement="", edits=token_edits):
        edits.append((start, end, replacement))

    for statement in _statements(tokens):
        first, rest = statement[0], statement[1:]
        if rest and rest[-1].string in (";", ":") and rest[-1].type == tokenize.OP:
            body = rest[:-1]
        else:
            body = rest
        top_level_comma = _has_top_level_comma(body)
        if first.type == tokenize.NAME and first.string in ("print", "exec") and body \
                and body[0].string != "(":
            blank(first.start, body[-1].end, "pass", statement_edits)   # print x, exec c
        elif first.string == "except" and top_level_comma:
            blank(body[0].start, body[-1].end, "", statement_edits)     # except E, e:
        elif first.string == "raise" and top_level_comma:
            blank(body[0].start, body[-1].end, "", statement_edits)     # raise E, msg
    for previous, token in zip([None] + tokens[:-1], tokens):
        adjacent = previous is not None and previous.end == token.start
        if token.string == "`":
            blank(token.start, token.end)
        elif token.type == tokenize.NUMBER and re.match(r"0\d", token.string):
            blank(token.start, (token.start[0], token.start[1] + 1))      # 0777 (one token)
        elif token.type == tokenize.NUMBER and adjacent and previous.string == "0":
            blank(previous.start, previous.end)                           # 0777 (two tokens)
        elif token.type == tokenize.NAME and adjacent and previous.type == tokenize.NUMBER \
                and token.string in ("L", "l"):
            blank(token.start, token.end)                                 # 10L
        elif token.type == tokenize.STRING and adjacent and previous.type == tokenize.NAME \
                and previous.string.lower() in ("ur", "ru"):
            blank(previous.start, previous.end)                           # ur"..."
        elif token.string == "<>":
            blank(token.start, token.end, "!=")
        elif token.string == ">" and adjacent and previous.string == "<":
            blank(previous.start, token.end, "!=")
        elif token.type == tokenize.NAME and token.string in ("async", "await"):
            blank(token.start, token.end, "_" + token.string[1:])        # names in Python 2
    # Statements last: a blanked statement stays blank whatever its tokens asked for.
    return _apply_edits(lines, token_edits + statement_edits)


def _has_top_level_comma(tokens):
    depth = 0
    for token in tokens:
        if token.string in ("(", "[", "{"):
            depth += 1
        elif token.string in (")", "]", "}"):
            depth -= 1
        elif token.string == "," and depth == 0:
            return True
    return False


def _apply_edits(lines, edits):
    lines = list(lines)
    for (row, col), (end_row, end_col), replacement in edits:
        for number in range(row, end_row + 1):
            line = lines[number - 1]
            body = line.rstrip("\r\n")
            start = col if number == row else 0
            stop = end_col if number == end_row else len(body)
            text = replacement if number == row else ""
            filler = text + " " * (stop - start - len(text))
            lines[number - 1] = line[:start] + filler + line[stop:]
    return "".join(lines)

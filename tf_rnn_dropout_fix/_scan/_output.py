"""Writing findings: text (flake8 style), JSON, SARIF 2.1.0; a closed pipe ends quietly."""
from __future__ import print_function

import collections
import errno
import json
import os
import sys

try:
    from urllib.parse import quote
except ImportError:             # Python 2.7
    from urllib import quote

from tf_rnn_dropout_fix._scan._rules import NOT_SCANNED, NOTE, PROBLEM, RULES
from tf_rnn_dropout_fix._version import __version__

FORMATS = ("text", "json", "sarif")
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_INFORMATION_URI = "https://pypi.org/project/tf-rnn-dropout-fix/"


def summary(prog, files, findings):
    counts = [sum(1 for f in findings if f.severity == severity)
              for severity in (PROBLEM, NOTE, NOT_SCANNED)]
    return "%s scan: %d file%s, %d problem%s, %d note%s, %d file%s not scanned" % (
        prog, files, "" if files == 1 else "s", counts[0], "" if counts[0] == 1 else "s",
        counts[1], "" if counts[1] == 1 else "s", counts[2], "" if counts[2] == 1 else "s")


def _uri(path):
    """A relative path stays relative (SARIF resolves it against the checkout), an absolute one
    is a file: URI; '/' separators, spaces and the like percent-encoded."""
    uri = quote(path.replace(os.sep, "/"), safe="/:")
    if os.path.isabs(path):
        return "file://" + ("" if uri.startswith("/") else "/") + uri
    return uri


def _level(finding):
    """The rule's level; a note promoted to a problem (TRD201 with --tf-version < 1.4): error."""
    severity, _, level = RULES[finding.code]
    return "error" if finding.severity == PROBLEM and severity != PROBLEM else level


def sarif(findings):
    """The SARIF 2.1.0 log: one run, the rules' metadata, one result per finding."""
    codes = list(RULES)
    rules = [collections.OrderedDict([
        ("id", code),
        ("name", code),
        ("shortDescription", {"text": title}),
        ("fullDescription", {"text": "%s (%s)" % (title, severity)}),
        ("defaultConfiguration", {"level": level}),
        ("helpUri", _INFORMATION_URI),
        ("properties", {"severity": severity}),
    ]) for code, (severity, title, level) in RULES.items()]
    results = []
    for finding in findings:
        results.append(collections.OrderedDict([
            ("ruleId", finding.code),
            ("ruleIndex", codes.index(finding.code)),
            ("level", _level(finding)),
            ("message", {"text": finding.message}),
            ("locations", [{"physicalLocation": collections.OrderedDict([
                ("artifactLocation", {"uri": _uri(finding.path)}),
                ("region", {"startLine": finding.line, "startColumn": finding.col}),
            ])}]),
            ("properties", {"severity": finding.severity, "cell": finding.cell}),
        ]))
    return collections.OrderedDict([
        ("$schema", _SARIF_SCHEMA),
        ("version", "2.1.0"),
        ("runs", [collections.OrderedDict([
            ("tool", {"driver": collections.OrderedDict([
                ("name", "tf-rnn-dropout-fix scan"),
                ("version", __version__),
                ("informationUri", _INFORMATION_URI),
                ("rules", rules),
            ])}),
            ("results", results),
        ])]),
    ])


def render(findings, output_format):
    """The text printed on stdout for ``output_format``."""
    if output_format == "json":
        return json.dumps([finding.as_dict() for finding in findings], indent=2)
    if output_format == "sarif":
        return json.dumps(sarif(findings), indent=2)
    return "\n".join(str(finding) for finding in findings)


def write(text, stream=None):
    """Print ``text``; True when written, False when the reader went away (``| head``).

    A closed pipe is not an error of the scan: stdout is pointed at devnull so that the
    interpreter's own flush at exit stays quiet too.
    """
    stream = stream or sys.stdout
    try:
        if text:
            print(text, file=stream)
        stream.flush()
        return True
    except IOError as exc:      # BrokenPipeError on Python 3
        if exc.errno not in (errno.EPIPE, errno.EINVAL):
            raise
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return False

"""Packaging for tf-rnn-dropout-fix.

TensorFlow is deliberately not in ``install_requires``: users choose ``tensorflow``,
``tensorflow-cpu``, ``tensorflow-gpu`` or an internal build, and this package must never
replace it.  The extras below name whole TF stacks for convenience, with the pins each TF line
needs on the interpreter at hand (environment markers, understood by pip 9 and later).

The metadata stays here, not in pyproject.toml's ``[project]`` table: that needs
setuptools >= 61, which no longer runs on Python 2.7 or 3.6, where pip may build this package
from its sdist.
"""
import io
import os
import re

import setuptools
from setuptools import find_packages, setup

_HERE = os.path.dirname(os.path.abspath(__file__))
LICENSE = "Apache-2.0"


def _read(*parts):
    with io.open(os.path.join(_HERE, *parts), encoding="utf-8") as handle:
        return handle.read()


def _version():
    # Read the version without importing the package (which would import TensorFlow).
    match = re.search(r'^__version__ = "([^"]+)"', _read("tf_rnn_dropout_fix", "_version.py"), re.M)
    return match.group(1)


def _license_metadata():
    """The SPDX expression as ``License-Expression`` (PEP 639) where setuptools writes it.

    setuptools 77 and later take ``license_expression``; older releases (those that still run
    on Python 2.7 and 3.6) do not know the keyword, and get the same expression as ``License``.
    Either way no license classifier is needed, and setuptools 77+ warns about one.
    """
    major = re.match(r"\d+", setuptools.__version__)
    if major and int(major.group(0)) >= 77:
        return {"license_expression": LICENSE}
    return {"license": LICENSE}


# TF 1.x: protobuf >= 3.20 cannot load TF 1.x's generated *_pb2 modules, and numpy must be one
# the wheels were built against (compat/constraints/tf1*.txt say which, per TF minor).  pip takes
# the newest TF 1.x an interpreter has wheels for: 1.15.5 on Python 3.6 and 3.7 (measured with
# numpy 1.16.6 and 1.18.5, protobuf 3.19.6), 1.15.0 on 2.7.
_TF1 = [
    "tensorflow>=1.2,<2",
    "protobuf>=3.2,<3.18; python_version<'3'",
    "protobuf>=3.2,<3.20; python_version>='3'",
    "numpy<1.17; python_version<'3.7'",
    "numpy>=1.16,<1.19; python_version=='3.7'",
    "h5py<2.11",
]
# TF 2.0 - 2.15 (tf.keras is Keras 2): 2.1 on Python 2.7, 2.11 on 3.7, 2.15 on 3.9 - 3.11
# (measured on 3.7 and 3.11: numpy 1.21.6 and 1.26.4, protobuf 3.19.6 and 4.25.9).
_TF2 = [
    "tensorflow>=2,<2.16",
    "protobuf<3.18; python_version<'3'",
    "numpy<1.17; python_version<'3'",
    "protobuf<3.20; python_version>='3' and python_version<'3.8'",
    "numpy<2; python_version>='3'",
]
# TF 2.16 - 2.21 with tf_keras, for tf.compat.v1.nn.rnn_cell (set TF_USE_LEGACY_KERAS=1):
# tf_keras requires the TensorFlow of its own minor, so pip picks a matching pair.
_TF2_LEGACY_KERAS = ["tensorflow>=2.16,<2.22", "tf_keras>=2.16,<2.22"]

setup(
    name="tf-rnn-dropout-fix",
    version=_version(),
    description="One import makes TensorFlow's RNN DropoutWrapper correct: no LSTM memory or GRU "
                "state dropout blow-ups, on TF 1.2 to 2.21.",
    long_description=_read("README.md"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["tf_rnn_dropout_fix", "tf_rnn_dropout_fix.*"]),
    python_requires=">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*",
    # Python 2.7: inspect.signature from its backport (tf_rnn_dropout_fix/_pycompat.py)
    install_requires=["absl-py", 'funcsigs; python_version < "3"'],
    extras_require={
        "tf1": _TF1,
        "tf2": _TF2,
        "tf2-legacy-keras": _TF2_LEGACY_KERAS,
        "plot": ["matplotlib"],
        "test": ["pytest"],
    },
    entry_points={
        "console_scripts": ["tf-rnn-dropout-fix = tf_rnn_dropout_fix.__main__:main"],
        "flake8.extension": ["TRD = tf_rnn_dropout_fix._flake8:Plugin"],
    },
    classifiers=[
        "Programming Language :: Python :: 2",
        "Programming Language :: Python :: 2.7",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.6",
        "Programming Language :: Python :: 3.7",
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
    **_license_metadata()
)

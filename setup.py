"""Packaging for tf-rnn-dropout-fix.

TensorFlow is deliberately not in ``install_requires``: users choose ``tensorflow``,
``tensorflow-cpu``, ``tensorflow-gpu`` or an internal build, and this package must never
replace it.  The extras below name whole TF stacks for convenience.
"""
import io
import os
import re

from setuptools import find_packages, setup

_HERE = os.path.dirname(os.path.abspath(__file__))


def _read(*parts):
    with io.open(os.path.join(_HERE, *parts), encoding="utf-8") as handle:   # Python 2 too
        return handle.read()


def _version():
    # Read the version without importing the package (which would import TensorFlow).
    match = re.search(r'^__version__ = "([^"]+)"', _read("tf_rnn_dropout_fix", "_version.py"), re.M)
    return match.group(1)


setup(
    name="tf-rnn-dropout-fix",
    version=_version(),
    description="One import makes TensorFlow's RNN DropoutWrapper correct: no LSTM memory or GRU "
                "state dropout blow-ups, on TF 1.2 to 2.21.",
    long_description=_read("README.md"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["tf_rnn_dropout_fix", "tf_rnn_dropout_fix.*"]),
    python_requires=">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*, !=3.5.*",
    # Python 2.7: inspect.signature from its backport (tf_rnn_dropout_fix/_pycompat.py)
    install_requires=["absl-py", 'funcsigs; python_version < "3"'],
    # one wheel (py2.py3) for Python 2.7 and 3
    options={"bdist_wheel": {"universal": True}},
    extras_require={
        "tf1": ["tensorflow>=1.2,<2"],
        "tf2": ["tensorflow>=2,<2.16"],
        "tf2-legacy-keras": ["tensorflow>=2.16", "tf_keras"],
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
        "Programming Language :: Python :: 3.8",
        "Programming Language :: Python :: 3.11",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "License :: OSI Approved :: Apache Software License",
    ],
)

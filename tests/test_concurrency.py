"""patch()/unpatch() from many threads while other threads build models.

A service may patch from a worker thread while others build graphs.  The hazard is a step that
starts corrected and meets a ``GRUCell.call`` an unpatch has just restored: the state mask is
requested and never applied, neither stock nor corrected math.  Here 8 threads call patch() and
unpatch() 50 times each while 2 threads build GRU graphs; every graph must then compute exactly
the stock or exactly the corrected outputs, and a graph built from the same wrapper after the
final patch must be corrected.

The graphs are built by hand rather than with conftest's ``Run``: ``Run`` silences warnings
with ``warnings.catch_warnings``, which is not safe to use from several threads.
"""
import contextlib
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import tf_rnn_dropout_fix as fix
import tensorflow as tf
from conftest import RNN_CELL, V1, seeded_weights
from test_patching import _snapshot

PATCHING_THREADS, CALLS_EACH, BUILDING_THREADS, MAX_GRAPHS = 8, 50, 2, 16
_INPUTS = np.random.RandomState(0).randn(3, 4, 5).astype(np.float32)


class _GruGraph(object):
    """A variational GRU wrapper and one dynamic_rnn over it, built in the calling thread."""

    def __init__(self, keep=0.5):
        self.graph = tf.Graph()
        with self.graph.as_default():
            V1.set_random_seed(1)
            self.inputs = tf.constant(_INPUTS)
            self.cell = RNN_CELL.DropoutWrapper(RNN_CELL.GRUCell(8), state_keep_prob=keep,
                                                variational_recurrent=True, dtype=tf.float32,
                                                seed=5)
            self.first, _ = V1.nn.dynamic_rnn(self.cell, self.inputs, dtype=tf.float32)
        self.second = None

    def build_again(self):
        """A second graph from the same wrapper instance (its variables are reused)."""
        with self.graph.as_default():
            self.second, _ = V1.nn.dynamic_rnn(self.cell, self.inputs, dtype=tf.float32)

    def outputs(self):
        with self.graph.as_default(), V1.Session(graph=self.graph) as session:
            session.run(V1.global_variables_initializer())
            seeded_weights(session)
            return session.run([self.first] + ([self.second] if self.second is not None else []))


def _matches(value, reference):
    return np.allclose(value, reference, rtol=1e-5, atol=1e-6)


def _changed(snapshot, stock):
    return {key: value for key, value in snapshot.items() if value is not stock[key]}


def test_patch_and_unpatch_from_eight_threads_while_two_threads_build_graphs():
    RNN_CELL.DropoutWrapper      # load the lazily loaded copies before taking snapshots
    fix.unpatch()
    stock_snapshot = _snapshot()
    with fix.disabled():
        stock = _GruGraph().outputs()[0]
    no_state_dropout = _GruGraph(keep=1.0).outputs()[0]
    fix.patch()
    corrected_keys = set(_changed(_snapshot(), stock_snapshot))
    corrected = _GruGraph().outputs()[0]
    # A half-corrected step computes the no-state-dropout outputs: all three must differ.
    assert not _matches(stock, corrected) and not _matches(stock, no_state_dropout)
    assert not _matches(corrected, no_state_dropout)

    errors, graphs, churning = [], [], [True]

    def patch_and_unpatch(index):
        try:
            for call in range(CALLS_EACH):
                (fix.patch if (index + call) % 2 else fix.unpatch)()
        except BaseException as exc:   # report every failure, from any thread
            errors.append(exc)

    def build_graphs():
        try:
            while churning[0] and len(graphs) < MAX_GRAPHS:
                graphs.append(_GruGraph())
        except BaseException as exc:
            errors.append(exc)

    patchers = [threading.Thread(target=patch_and_unpatch, args=(i,))
                for i in range(PATCHING_THREADS)]
    builders = [threading.Thread(target=build_graphs) for _ in range(BUILDING_THREADS)]
    with warnings.catch_warnings():    # late-patch warnings: wrappers are built while unpatched
        warnings.simplefilter("ignore", fix.RNNDropoutWarning)
        for thread in builders + patchers:
            thread.start()
        for thread in patchers:
            thread.join()
        churning[0] = False
        for thread in builders:
            thread.join()

        assert not errors, errors
        assert len(graphs) >= BUILDING_THREADS
        # Consistent end state: every patched attribute or none, bookkeeping in step.
        changed = _changed(_snapshot(), stock_snapshot)
        patched = fix.is_patched()
        assert set(changed) == (corrected_keys if patched else set())
        assert all(value.__wrapped__ is stock_snapshot[key] for key, value in changed.items())
        assert fix._guard.installed() is patched and fix.status().patched is patched
        assert len(set(fix._patching._order)) == len(fix._patching._order)
        assert set(fix._patching._order) == set(fix._patching._saved)
        assert fix._guard._readers[0] == 0 and not fix._guard._changing[0]

        fix.patch()
        for graph in graphs:
            graph.build_again()
    for graph in graphs:
        first, second = graph.outputs()
        assert _matches(first, stock) or _matches(first, corrected), \
            "a graph built during the churn is neither stock nor corrected"
        assert _matches(second, corrected), "a wrapper built during the churn is not corrected now"


@contextlib.contextmanager
def _threads_switching_as_often_as_they_can():
    """Every microsecond (Python 3's switch interval) or every bytecode (Python 2's check
    interval)."""
    if hasattr(sys, "setswitchinterval"):
        get, set_, often = sys.getswitchinterval, sys.setswitchinterval, 1e-6
    else:
        get, set_, often = sys.getcheckinterval, sys.setcheckinterval, 1
    saved = get()
    set_(often)
    try:
        yield
    finally:
        set_(saved)


def test_counting_stock_built_wrappers_never_breaks_a_tuple_another_thread_is_building():
    """patch() looks for wrappers built before it among the referrers of the wrapper classes.

    Those include tuples other threads are filling from a generator, as Keras does with a
    wrapper's bases on every layer construction; such a tuple is resized in place when the
    generator ends, and the resize raises SystemError if anyone else holds it at that moment
    (it did in the test above on TF 2.3, in Keras' ``swap_class``).  Threads switch here every
    microsecond; the walk held the referrers across switches before, and failed within 10 walks.
    """
    wrapper_class = RNN_CELL.DropoutWrapper
    errors, stop, walks = [], [False], [0]

    def build_tuples():
        try:
            while not stop[0]:
                tuple(cls for cls in (wrapper_class, int, str))   # sized 10, then resized to 3
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=build_tuples) for _ in range(2)]
    with _threads_switching_as_often_as_they_can():
        try:
            for thread in threads:
                thread.start()
            deadline = time.time() + 3.0
            while time.time() < deadline and not errors:
                fix._patching._instances_built_stock([wrapper_class])
                walks[0] += 1
        finally:
            stop[0] = True
            for thread in threads:
                thread.join()
    assert not errors, "after %d walks: %r" % (walks[0], errors)
    assert walks[0] >= 10


class _UnpatchingCell(RNN_CELL.BasicRNNCell):
    """A cell whose step calls unpatch(): waiting for the steps in flight would wait forever."""

    def call(self, inputs, state):
        fix.unpatch()
        return super(_UnpatchingCell, self).call(inputs, state)


def test_unpatch_from_inside_a_step_is_an_error_not_a_deadlock():
    with tf.Graph().as_default():
        cell = RNN_CELL.DropoutWrapper(_UnpatchingCell(4), output_keep_prob=0.9)
        with pytest.raises(RuntimeError, match="from inside a DropoutWrapper"):
            V1.nn.dynamic_rnn(cell, tf.ones([2, 3, 5]), dtype=tf.float32)
    assert fix.is_patched() and fix._guard._readers[0] == 0

"""Patch and unpatch against the corrected constructors and steps running in other threads.

A corrected step asks a patched ``GRUCell.call`` to reroute its state dropout; an unpatch that
landed between the two would leave the step half corrected (the state mask requested and never
applied), and a constructor that saw half a patch would record a half-corrected plan.  So the
classes change only while no corrected constructor or step is running (``changing()``), and
those wait while a change is in progress (``in_use()``).

It is a reader-writer lock that prefers readers: a reader never waits for a writer that is only
waiting, so a step that nests another wrapper's step, or that waits for another replica's thread
(MirroredStrategy builds each replica in a thread of its own), cannot deadlock against a pending
patch.  A step pays for two uncontended lock round trips.
"""
import threading

_lock = threading.Lock()
_condition = threading.Condition(_lock)   # waited on with _lock held
_readers = [0]          # corrected constructors and steps running now, all threads
_writers_waiting = [0]  # patch/unpatch calls waiting for the readers to finish
_changing = [False]     # a patch or unpatch is changing the classes
_installed = [False]    # the corrections are in the classes (between patch and unpatch)
_thread = threading.local()


class _InUse(object):
    """``with in_use() as installed:`` the classes stay as they are until the block ends."""
    __slots__ = ()

    def __enter__(self):
        with _lock:
            while _changing[0]:
                _condition.wait()
            _readers[0] += 1
        _thread.depth = getattr(_thread, "depth", 0) + 1
        return _installed[0]

    def __exit__(self, *exc_info):
        _thread.depth -= 1
        with _lock:
            _readers[0] -= 1
            if not _readers[0] and _writers_waiting[0]:
                _condition.notify_all()
        return False


_IN_USE = _InUse()


def in_use():
    """Context for a corrected constructor or step; its value says whether the patch is in."""
    return _IN_USE


class changing(object):
    """Context for patch/unpatch: waits until no corrected method runs, then holds them off."""

    def __enter__(self):
        if getattr(_thread, "depth", 0):
            raise RuntimeError(
                "tf_rnn_dropout_fix.patch() or unpatch() was called from inside a DropoutWrapper "
                "constructor or step, where the classes cannot change; call it before building "
                "the model or after.")
        with _lock:
            _writers_waiting[0] += 1
            try:
                while _readers[0] or _changing[0]:
                    _condition.wait()
            finally:
                _writers_waiting[0] -= 1
            _changing[0] = True
        return self

    def __exit__(self, *exc_info):
        with _lock:
            _changing[0] = False
            _condition.notify_all()
        return False


def installed():
    return _installed[0]


def set_installed(value):
    """Record whether the corrections are in the classes; only inside ``changing()``."""
    _installed[0] = bool(value)

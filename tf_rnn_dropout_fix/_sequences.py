"""Where a sequence starts (DESIGN 3.5, 3.8): the hooks that give each one its own masks.

Three places, patched like the wrapper classes and restored with them:

* every call of a Keras RNN layer (``keras.layers.RNN`` and its subclasses, in every Keras copy)
  starts with ``RNN._maybe_reset_cell_dropout_mask(cell)``, where Keras resets the dropout
  masks of its own cells, with or without ``initial_state``, stateful layers included.  The
  hook also records the ``training`` Keras resolved for that call (its call context, or the
  learning phase when the call has none), which the wrapper's steps then honour;
* ``dynamic_rnn``, ``static_rnn``, ``bidirectional_dynamic_rnn``, ``raw_rnn`` and the static
  bidirectional one all begin with ``rnn_cell_impl.assert_like_rnncell(name, cell)``, looked up
  on the module at every call (so names bound before the patch are reached too);
* ``zero_state`` / ``get_initial_state`` of the wrapper, for loops written by hand.

Every corrected DropoutWrapper in the cell tree (inside ``MultiRNNCell``, ``StackedRNNCells``
and other wrappers) starts a sequence.  In TF1 graphs the masks stay the stock ones.
"""
from tf_rnn_dropout_fix import _compat, _config, _wrapper

KERAS_SEQUENCE_START = "_maybe_reset_cell_dropout_mask"
RNN_ENTRY_CHECK = "assert_like_rnncell"


def corrected_wrappers(cell):
    """The corrected DropoutWrappers in ``cell``'s tree, outermost first."""
    found, pending, seen = [], [cell], set()
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _wrapper.plan_of(current) is not None:
            found.append(current)
        children = getattr(current, "_cells", None) or getattr(current, "cells", None)
        if isinstance(children, (list, tuple)):
            pending.extend(children)
        pending.append(_compat.inner_cell(current))
    return found


def start(wrappers, training=None):
    """Start a sequence on each of ``wrappers`` (a no-op while disabled)."""
    if not _config.corrections_active():
        return
    for wrapper in wrappers:
        _wrapper.start_sequence(wrapper, _wrapper.plan_of(wrapper), training)


def make_keras_sequence_start(original):
    """``RNN._maybe_reset_cell_dropout_mask`` that also starts the wrappers' sequences."""
    def _maybe_reset_cell_dropout_mask(self, cell):
        original(self, cell)
        wrappers = corrected_wrappers(cell)
        if wrappers:            # only then ask Keras which training this call resolved
            start(wrappers, _compat.keras_training(self))

    return _compat.stands_in_for(_maybe_reset_cell_dropout_mask, original)


def make_rnn_entry_check(original):
    """``assert_like_rnncell`` that starts a sequence on the cell it accepts."""
    def assert_like_rnncell(cell_name, cell):
        result = original(cell_name, cell)
        start(corrected_wrappers(cell))
        return result

    return _compat.stands_in_for(assert_like_rnncell, original)


def make_sequence_start(cls, name):
    """``zero_state`` / ``get_initial_state`` for a wrapper class: start a sequence, then stock."""
    own = vars(cls).get(name)

    def method(self, *args, **kwargs):
        plan = _wrapper.plan_of(self)
        if plan is not None and _config.corrections_active():
            _wrapper.start_sequence(self, plan)
        if own is not None:
            return own(self, *args, **kwargs)
        return getattr(super(cls, self), name)(*args, **kwargs)

    method.__name__ = name
    return _compat.stands_in_for(method, own)


def inherits(cls, name):
    """True when instances of ``cls`` (or of its subclasses) get ``name`` from another class."""
    classes = [cls] + cls.__subclasses__()
    return name in vars(cls) or any(
        name in vars(base) for klass in classes for base in klass.__mro__ if base is not cls)

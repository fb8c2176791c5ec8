"""Keras 3.0 - 3.7's own ``GRUCell(recurrent_dropout=...)``, corrected to Keras 3.8's semantics.

Those releases multiply the carried state itself by the recurrent mask before the step
(``h_tm1 = h_tm1 * rec_dp_mask``), so ``h' = z*h + (1-z)*hh`` rescales the memory by
``mask/keep`` at every step and it grows as ``(1/keep)^t`` (keras-team/keras#20276, the GRU
case of tensorflow/tensorflow#11650).  Keras 3.8 (keras-team/keras#20656) applies one mask per
gate to ``h_{t-1}`` only where it enters the recurrent products, and one per gate to the inputs,
and carries the unmasked state::

    z  = sigma(x m_xz W_z + b_z + (h m_hz) U_z + c_z)
    r  = sigma(x m_xr W_r + b_r + (h m_hr) U_r + c_r)
    hh = tanh(x m_xh W_h + b_h + r * ((h m_hh) U_h + c_h))     # reset_after=True
    hh = tanh(x m_xh W_h + b_h + (r * (h m_hh)) U_h)            # reset_after=False
    h' = z*h + (1-z)*hh

Three methods of the affected class are replaced (``_patching``), all on the cell's own
variables, so weights and saved models are the stock ones both ways:

* ``__init__`` applies the GRU policy to ``recurrent_dropout > 0`` (``raise`` raises here,
  ``warn`` warns once and keeps the Keras math) and records the decision on the instance;
* ``get_dropout_mask`` / ``get_recurrent_dropout_mask`` draw three masks (one per gate), as
  Keras 3.8 does, for a corrected cell; ``keras.layers.RNN`` draws them before its loop;
* ``call`` (the rerouting call of ``_gru``) runs the step above in training, else stock.

Everything is ``keras.ops``, so the step does not depend on the backend.  A cell built inside
``disabled()`` stays stock for its whole life; one built before the patch gets the policy at its
first training step.
"""
import sys

from tf_rnn_dropout_fix import _compat, _config, _errors, _guard

DECISION_ATTRIBUTE = "_tf_rnn_dropout_fix_keras3_gru"
CORRECTED, STOCK = "corrected", "stock"
_GATES = 3


def _bug_sentence(cell):
    return ("%s(recurrent_dropout=%r) on Keras %s multiplies the carried state h_{t-1} by its "
            "dropout mask at every step, so the state grows as (1/keep)^t and overflows "
            "(keras-team/keras#20276, fixed in Keras 3.8)"
            % (type(cell).__name__, cell.recurrent_dropout,
               _compat.keras_version_of(type(cell)) or "?"))


def _decide(cell, stacklevel):
    """Apply the GRU policy to ``cell`` and record the decision; returns it."""
    if not _config.corrections_active():
        decision = STOCK
    else:
        policy, source = _config.gru_policy()
        if policy == "raise":
            raise _errors.UnsafeStateDropoutError(
                _bug_sentence(cell) + ". gru_policy='raise' (from %s) forbids it: set "
                "recurrent_dropout=0.0, upgrade to keras>=3.8, or use gru_policy='reroute' "
                "(Keras 3.8's recurrent dropout, inside the recurrent products)." % source)
        if policy == "warn":
            _errors.warn(_bug_sentence(cell) + ". Keeping the Keras math because "
                         "gru_policy='warn' (from %s); use gru_policy='reroute', keras>=3.8 or "
                         "recurrent_dropout=0.0." % source, stacklevel=stacklevel + 1)
            decision = STOCK
        else:
            decision = CORRECTED
    # Not through the layer's __setattr__: the decision is no state Keras or TF should track.
    object.__setattr__(cell, DECISION_ATTRIBUTE, decision)
    return decision


def _corrects(cell):
    """True when ``cell``'s recurrent dropout runs corrected now."""
    if not 0.0 < cell.recurrent_dropout < 1.0 or not _config.corrections_active():
        return False
    decision = vars(cell).get(DECISION_ATTRIBUTE)
    if decision is None:            # built before the patch
        decision = _decide(cell, stacklevel=4)
    return decision == CORRECTED


def make_init(cls, stock_init):
    def __init__(self, *args, **kwargs):
        stock_init(self, *args, **kwargs)
        if not _config.corrections_active():
            object.__setattr__(self, DECISION_ATTRIBUTE, STOCK)
        elif 0.0 < self.recurrent_dropout < 1.0:
            _decide(self, stacklevel=3)
    return _compat.stands_in_for(__init__, stock_init)


def _per_gate_masks(step_input, rate, seed_generator):
    import keras
    ones = keras.ops.ones_like(step_input)
    return [keras.random.dropout(ones, rate=rate, seed=seed_generator) for _ in range(_GATES)]


def make_mask_getter(cls, name):
    """``get_dropout_mask`` / ``get_recurrent_dropout_mask``: three masks for a corrected cell."""
    stock_getter = getattr(cls, name)       # inherited from DropoutRNNCell
    cache, rate = {"get_dropout_mask": ("_dropout_mask", "dropout"),
                   "get_recurrent_dropout_mask": ("_recurrent_dropout_mask",
                                                  "recurrent_dropout")}[name]

    def getter(self, step_input):
        if not _corrects(self):
            return stock_getter(self, step_input)
        masks = getattr(self, cache, None)
        if masks is None and getattr(self, rate) > 0:
            masks = _per_gate_masks(step_input, getattr(self, rate), self.seed_generator)
            setattr(self, cache, masks)
        return masks
    return _compat.stands_in_for(getter, vars(cls).get(name))


def _three(masks):
    # A mask drawn while the cell ran stock (one tensor) serves every gate.
    return list(masks) if isinstance(masks, (list, tuple)) else [masks] * _GATES


def corrected_step(cell, inputs, states):
    """One training step with Keras 3.8's dropout; any ``implementation``, both ``reset_after``."""
    import keras
    ops = keras.ops
    nested = isinstance(states, (list, tuple))
    h_tm1 = states[0] if nested else states
    units = cell.units
    kernel, recurrent_kernel = cell.kernel, cell.recurrent_kernel

    input_bias = recurrent_bias = None
    if cell.use_bias:
        input_bias = cell.bias
        if cell.reset_after:
            input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
    if 0.0 < cell.dropout < 1.0:
        x_z, x_r, x_h = [inputs * m for m in _three(cell.get_dropout_mask(inputs))]
        x_z = ops.matmul(x_z, kernel[:, :units])
        x_r = ops.matmul(x_r, kernel[:, units:2 * units])
        x_h = ops.matmul(x_h, kernel[:, 2 * units:])
        if input_bias is not None:
            x_z = x_z + input_bias[:units]
            x_r = x_r + input_bias[units:2 * units]
            x_h = x_h + input_bias[2 * units:]
    else:       # one input for every gate: one product, as the stock implementation 2 does
        matrix_x = ops.matmul(inputs, kernel)
        if input_bias is not None:
            matrix_x = matrix_x + input_bias
        x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)

    h_z, h_r, h_h = [h_tm1 * m for m in _three(cell.get_recurrent_dropout_mask(h_tm1))]
    recurrent_z = ops.matmul(h_z, recurrent_kernel[:, :units])
    recurrent_r = ops.matmul(h_r, recurrent_kernel[:, units:2 * units])
    if recurrent_bias is not None:
        recurrent_z = recurrent_z + recurrent_bias[:units]
        recurrent_r = recurrent_r + recurrent_bias[units:2 * units]
    z = cell.recurrent_activation(x_z + recurrent_z)
    r = cell.recurrent_activation(x_r + recurrent_r)
    if cell.reset_after:
        recurrent_h = ops.matmul(h_h, recurrent_kernel[:, 2 * units:])
        if recurrent_bias is not None:
            recurrent_h = recurrent_h + recurrent_bias[2 * units:]
        recurrent_h = r * recurrent_h
    else:
        recurrent_h = ops.matmul(r * h_h, recurrent_kernel[:, 2 * units:])
    hh = cell.activation(x_h + recurrent_h)
    h = z * h_tm1 + (1 - z) * hh       # the unmasked state is carried
    return h, ([h] if nested else h)


def own_step(cell, inputs, states, training, call_original):
    """The patched ``call`` when no wrapper asked for a reroute."""
    if not (training and _corrects(cell)):
        return call_original()
    with _guard.in_use() as installed:
        if not installed:
            return call_original()
        return corrected_step(cell, inputs, states)


def patch_class(cls, set_attribute, make_call):
    """Install the three replacements with ``set_attribute(cls, name, value)`` (``_patching``)."""
    set_attribute(cls, "__init__", make_init(cls, vars(cls)["__init__"]))
    for name in ("get_dropout_mask", "get_recurrent_dropout_mask"):
        set_attribute(cls, name, make_mask_getter(cls, name))
    set_attribute(cls, "call", make_call(cls, vars(cls)["call"], own_step))


def status_line(patched_keys):
    """What happened to Keras 3's own GRUCell here, or None when no Keras 3 GRU is loaded."""
    try:
        return _status_line(patched_keys)
    except Exception as exc:   # status never crashes
        return "unknown (%s: %s)" % (type(exc).__name__, exc)


def _status_line(patched_keys):
    module = sys.modules.get("keras.src.layers.rnn.gru")
    cls = getattr(module, "GRUCell", None)
    if not isinstance(cls, type):
        return None
    version = _compat.keras_version_of(cls) or "?"
    if (_compat.parse_version(version) or (3,))[0] != 3:     # Keras 2.13 - 2.15 use keras.src too
        return None
    if (cls, "get_recurrent_dropout_mask") in patched_keys:
        return "corrected to Keras 3.8's semantics (%s, Keras %s)" % (
            _compat.qualified_name(cls), version)
    if _compat.keras3_gru_masks_carried_state(cls):
        return "STOCK: masks the carried state (Keras %s; the patch is not in force)" % version
    return "not needed here (Keras %s)" % version

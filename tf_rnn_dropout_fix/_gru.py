"""The GRU reroute: state dropout on ``h_{t-1}`` only where it enters the recurrent products.

A GRU carries its state forward linearly, ``h' = u*h + (1-u)*c~`` (TF's convention, gates
``[r, u]``), so dropping ``h`` between steps rescales the memory itself by ``mask/keep`` at every
step and, with a variational mask, grows it geometrically (tensorflow/tensorflow#11650).
Gal & Ghahramani's recurrent dropout, which Keras implements as ``recurrent_dropout``, drops
``h_{t-1}`` only as an input of the recurrent matrix products::

    [r, u] = sigmoid([x, m*h] W_g + b_g)
    c~     = tanh([x, r*(m*h)] W_c + b_c)
    h'     = u*h + (1-u)*c~               # the unmasked h is carried

The step runs inside the cell's own ``call`` (patched on every ``GRUCell`` copy of TF's layout and
of Keras'), so
variable creation, scopes, names, shapes and initialisers stay exactly the stock cell's: no new
variables, checkpoints load both ways.  The corrected wrapper hands the dropped ``h`` to the
cell through a thread-local request; a ``GRUCell`` called outside such a request runs stock.
The request holds the dropped ``h`` as a recipe (``Deferred``), built only inside the cell's
``call``, after the cell has built its variables: a graph-level seed derives each unseeded
initialiser's op seed from the graph's op count, so no op may precede them that stock does not
create there (DESIGN 3.6).
"""
import sys
import threading

from tf_rnn_dropout_fix import _compat, _gate, _pycompat

_requests = threading.local()


class rerouted(object):
    """Context: while active, the listed GRU cells use the given dropped states in products."""

    def __init__(self, dropped_by_cell):
        self._dropped = dropped_by_cell

    def __enter__(self):
        stack = getattr(_requests, "stack", None)
        if stack is None:
            stack = _requests.stack = []
        stack.append(self._dropped)
        return self

    def __exit__(self, *exc_info):
        _requests.stack.pop()
        return False


class Deferred(object):
    """A value built on first use, once: the dropped state of one step."""
    __slots__ = ("_build", "_value")

    def __init__(self, build):
        self._build, self._value = build, None

    def value(self):
        if self._build is not None:
            self._value, self._build = self._build(), None
        return self._value


def requested_for(cell):
    """The ``Deferred`` dropped state the innermost active wrapper asked for ``cell``, or None."""
    for request in reversed(getattr(_requests, "stack", None) or ()):
        for requested_cell, dropped in request:
            if requested_cell is cell:
                return dropped
    return None


def dropped_state_for(cell):
    """The dropped state requested for ``cell``, built now (call it where the step uses it)."""
    dropped = requested_for(cell)
    return None if dropped is None else dropped.value()


def _kernel_projection_for(gru_class):
    """TF >= 1.5 GRUCell and the Keras legacy copies: kernels built in ``build``."""
    def project(cell, block, args):
        array_ops, _, math_ops, nn_ops, _, _ = _compat.tf_modules()
        kernel, bias = ((cell._gate_kernel, cell._gate_bias) if block == "gates"
                        else (cell._candidate_kernel, cell._candidate_bias))
        return nn_ops.bias_add(math_ops.matmul(array_ops.concat(args, 1), kernel), bias)
    return project


def _linear_projection_for(gru_class):
    """TF 1.2 - 1.4 GRUCell: its module's ``_linear`` under ``gates`` / ``candidate`` scopes."""
    linear = sys.modules[gru_class.__module__]._linear

    def project(cell, block, args):
        _, init_ops, _, _, variable_scope, _ = _compat.tf_modules()
        units = cell._num_units
        with variable_scope.variable_scope(block):
            if block == "gates":
                # Bias 1.0 to start neither resetting nor updating, as the stock cell does.
                bias = cell._bias_initializer
                if bias is None:
                    bias = init_ops.constant_initializer(1.0, dtype=args[0].dtype)
                return linear(args, 2 * units, True, bias, cell._kernel_initializer)
            return linear(args, units, True, cell._bias_initializer, cell._kernel_initializer)
    return project


def _activation(cell):
    # GRUBlockCell has no activation attribute: its fused kernel uses tanh.
    return getattr(cell, "_activation", None) or _compat.tf_modules()[2].tanh


def reroute_gru_step(cell, inputs, state, dropped_state, project):
    """One GRU step with the dropped state inside the products and the plain state carried."""
    array_ops, _, math_ops, _, _, _ = _compat.tf_modules()
    gates = math_ops.sigmoid(project(cell, "gates", [inputs, dropped_state]))
    r, u = array_ops.split(value=gates, num_or_size_splits=2, axis=1)
    candidate = _activation(cell)(project(cell, "candidate", [inputs, r * dropped_state]))
    new_h = u * state + (1 - u) * candidate
    return new_h, new_h


def reroute_cudnn_gru_step(cell, inputs, state, dropped_state):
    """``CudnnCompatibleGRUCell``: the same, with the reset gate after the hidden product."""
    array_ops, _, math_ops, nn_ops, _, _ = _compat.tf_modules()
    gates = nn_ops.bias_add(math_ops.matmul(array_ops.concat([inputs, dropped_state], 1),
                                            cell._gate_kernel), cell._gate_bias)
    r, u = array_ops.split(value=math_ops.sigmoid(gates), num_or_size_splits=2, axis=1)
    candidate = nn_ops.bias_add(math_ops.matmul(inputs, cell._candidate_input_kernel),
                                cell._candidate_input_bias)
    candidate += r * nn_ops.bias_add(math_ops.matmul(dropped_state, cell._candidate_hidden_kernel),
                                     cell._candidate_hidden_bias)
    new_h = u * state + (1 - u) * cell._activation(candidate)
    return new_h, new_h


def reroute_keras_gru_step(cell, inputs, states, dropped_state):
    """The same step for ``keras.layers.GRUCell`` (gates [z, r, h], ``reset_after`` either way).

    Keras writes ``h' = z*h + (1-z)*hh``; with ``reset_after`` the reset gate multiplies the
    recurrent product ``r*(h U_h + b_h)``, otherwise it multiplies ``h`` before it.
    """
    array_ops, _, math_ops, _, _, _ = _compat.tf_modules()
    nested = isinstance(states, (list, tuple))
    h = states[0] if nested else states
    input_bias = recurrent_bias = None
    if cell.use_bias:
        input_bias, recurrent_bias = ((cell.bias[0], cell.bias[1]) if cell.reset_after
                                      else (cell.bias, None))
    x = math_ops.matmul(inputs, cell.kernel)
    if input_bias is not None:
        x = x + input_bias
    x_z, x_r, x_h = array_ops.split(x, 3, axis=-1)
    if cell.reset_after:
        recurrent = math_ops.matmul(dropped_state, cell.recurrent_kernel)
        if recurrent_bias is not None:
            recurrent = recurrent + recurrent_bias
        h_z, h_r, h_h = array_ops.split(recurrent, 3, axis=-1)
        z = cell.recurrent_activation(x_z + h_z)
        r = cell.recurrent_activation(x_r + h_r)
        h_h = r * h_h
    else:
        units = cell.units
        u_zr, u_h = cell.recurrent_kernel[:, :2 * units], cell.recurrent_kernel[:, 2 * units:]
        h_z, h_r = array_ops.split(math_ops.matmul(dropped_state, u_zr), 2, axis=-1)
        z = cell.recurrent_activation(x_z + h_z)
        r = cell.recurrent_activation(x_r + h_r)
        h_h = math_ops.matmul(r * dropped_state, u_h)
    candidate = cell.activation(x_h + h_h)
    new_h = z * h + (1 - z) * candidate
    return new_h, ([new_h] if nested else new_h)


def _tf_layout_step(projection_for):
    def step_for(gru_class):
        project = projection_for(gru_class)
        return lambda cell, inputs, state, dropped: reroute_gru_step(
            cell, inputs, state, dropped, project)
    return step_for


REROUTED_STEP_FOR_ERA = {
    "kernel": _tf_layout_step(_kernel_projection_for),
    "linear": _tf_layout_step(_linear_projection_for),
    "cudnn": lambda gru_class: reroute_cudnn_gru_step,
    "keras": lambda gru_class: reroute_keras_gru_step,
}


def make_rerouting_call(gru_class, original_call, own_step=None):
    """The replacement ``GRUCell.call``: stock unless a corrected wrapper asked for a reroute.

    ``own_step(cell, inputs, states, training, call_original)``, where given, runs instead of
    the stock call when no wrapper asked: the correction of the cell's own recurrent dropout
    (Keras 3.0 - 3.7, ``_keras3_gru``).
    """
    rerouted_step = REROUTED_STEP_FOR_ERA[_compat.gru_step_era(gru_class)](gru_class)

    # The stock signature exactly: Keras inspects `call` and passes `training=` only to a call
    # that declares it (keras.layers.GRUCell), never to TF's (self, inputs, state).
    def step(self, inputs, state, call_original, training=None):
        dropped = dropped_state_for(self) if getattr(_requests, "stack", None) else None
        if dropped is None and _gate.is_gated(self) and _gate.is_fused(self):
            dropped = state     # gate dropout only, on a fused GRUBlockCell: the Python step
        if dropped is None:
            if own_step is not None:
                return own_step(self, inputs, state, training, call_original)
            return call_original()
        return rerouted_step(self, inputs, state, dropped)

    if "training" in _pycompat.signature(original_call).parameters:
        def call(self, inputs, states, training=None):
            return step(self, inputs, states,
                        lambda: original_call(self, inputs, states, training=training),
                        training)
    else:
        def call(self, inputs, state):
            return step(self, inputs, state, lambda: original_call(self, inputs, state))

    return _compat.stands_in_for(call, original_call, gru_class)


def builds_in_call(cell):
    """True for a GRU that makes its variables inside its step (the ``_linear`` era)."""
    for klass in type(cell).__mro__:
        if "call" in vars(klass) and _compat.gru_step_era(klass) is not None:
            return _compat.gru_step_era(klass) == "linear"
    return False


def can_reroute(cell):
    """True when ``cell``'s step is a patched GRUCell ``call`` (no user override).

    A Keras GRUCell with its own ``dropout``/``recurrent_dropout`` is left alone: the reroute
    would silently replace them.
    """
    step = getattr(type(cell), "call", None)
    if getattr(step, "__wrapped_class__", None) is None:
        return False
    return not (getattr(cell, "dropout", 0) or getattr(cell, "recurrent_dropout", 0))

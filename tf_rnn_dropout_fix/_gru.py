"""The GRU reroute: state dropout on ``h_{t-1}`` only where it enters the recurrent products.

A GRU carries its state forward linearly, ``h' = u*h + (1-u)*c~`` (TF's convention, gates
``[r, u]``), so dropping ``h`` between steps rescales the memory itself by ``mask/keep`` at every
step and, with a variational mask, grows it geometrically (tensorflow/tensorflow#11650).
Gal & Ghahramani's recurrent dropout, which Keras implements as ``recurrent_dropout``, drops
``h_{t-1}`` only as an input of the recurrent matrix products::

    [r, u] = sigmoid([x, m*h] W_g + b_g)
    c~     = tanh([x, r*(m*h)] W_c + b_c)
    h'     = u*h + (1-u)*c~               # the unmasked h is carried

The step runs inside the cell's own ``call`` (patched on every TF-layout ``GRUCell`` copy), so
variable creation, scopes, names, shapes and initialisers stay exactly the stock cell's: no new
variables, checkpoints load both ways.  The corrected wrapper hands the dropped ``h`` to the
cell through a thread-local request; a ``GRUCell`` called outside such a request runs stock.
"""
import sys
import threading

from tf_rnn_dropout_fix import _compat

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


def dropped_state_for(cell):
    """The dropped state requested for ``cell`` by the innermost active wrapper, or None."""
    for request in reversed(getattr(_requests, "stack", None) or ()):
        for requested_cell, dropped in request:
            if requested_cell is cell:
                return dropped
    return None


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


GRU_STEP_ERAS = {"kernel": _kernel_projection_for, "linear": _linear_projection_for}


def reroute_gru_step(cell, inputs, state, dropped_state, project):
    """One GRU step with the dropped state inside the products and the plain state carried."""
    array_ops, _, math_ops, _, _, _ = _compat.tf_modules()
    gates = math_ops.sigmoid(project(cell, "gates", [inputs, dropped_state]))
    r, u = array_ops.split(value=gates, num_or_size_splits=2, axis=1)
    candidate = cell._activation(project(cell, "candidate", [inputs, r * dropped_state]))
    new_h = u * state + (1 - u) * candidate
    return new_h, new_h


def make_rerouting_call(gru_class, original_call):
    """The replacement ``GRUCell.call``: stock unless a corrected wrapper asked for a reroute."""
    project = GRU_STEP_ERAS[_compat.gru_step_era(gru_class)](gru_class)

    # The stock signature exactly (every TF-layout GRUCell.call is (self, inputs, state)): Keras
    # passes `training=` to a `call` that accepts **kwargs, which the stock call would reject.
    def call(self, inputs, state):
        dropped = dropped_state_for(self) if getattr(_requests, "stack", None) else None
        if dropped is None:
            return original_call(self, inputs, state)
        return reroute_gru_step(self, inputs, state, dropped, project)

    call.__wrapped__ = original_call
    call.__wrapped_class__ = gru_class
    call.__doc__ = original_call.__doc__
    call.__name__ = "call"
    return call


def can_reroute(cell):
    """True when ``cell``'s step is a patched TF-layout GRUCell ``call`` (no user override)."""
    step = getattr(type(cell), "call", None)
    return getattr(step, "__wrapped_class__", None) is not None

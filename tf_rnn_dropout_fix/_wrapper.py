"""The corrected DropoutWrapper: argument checks at construction, the corrected step.

Two methods of each copy's logic class are replaced (see ``_patching``):

* ``__init__``: checks the arguments (DESIGN 3.7), backports ``dropout_state_filter_visitor`` to
  TF 1.2/1.3, runs the stock constructor unchanged (it builds the variational noise), then applies
  the GRU policy and records a small plan on the instance.
* the step (``__call__`` up to TF 1.14, ``_call_wrapped_cell`` from 1.15): input and output
  dropout are the stock methods, untouched; state dropout follows ``_state_rules``: the LSTM
  memory is never dropped, a GRU's state is dropped only inside its recurrent products.

A wrapper built inside ``disabled()`` has no plan and stays stock for its whole life.  A wrapper
built before the patch (by the stock constructor) gets its plan at its first corrected step, so
graphs built from it after the patch are corrected too.  Both methods run inside
``_guard.in_use()``, so a concurrent ``unpatch()`` never leaves one half corrected.
"""
import functools
import math
import numbers

from tf_rnn_dropout_fix import (_compat, _config, _errors, _gate, _gru, _guard, _masks,
                                _pycompat, _seeds, _state_rules, _training)

PLAN_ATTRIBUTE = "_tf_rnn_dropout_fix_plan"
_NOT_SEEN = object()     # no corrected constructor saw the wrapper: it predates the patch
_KEEP_PROBS = ("input_keep_prob", "output_keep_prob", "state_keep_prob")


class _Plan(object):
    """What the corrected step needs beyond the stock attributes."""
    __slots__ = ("visitor", "stock_gru_cells", "gate_keep_prob", "gates", "gate_steps", "masks",
                 "_rules", "_stock_drops")

    def __init__(self, visitor, stock_gru_cells, gate_keep_prob, gates, masks):
        self.visitor = visitor                  # a user's dropout_state_filter_visitor, or None
        self.stock_gru_cells = stock_gru_cells  # GRUs left to stock math by the policy
        self.gate_keep_prob = gate_keep_prob
        self.gates = gates                      # [(cell, candidate dropout)] for gate_keep_prob
        self.gate_steps = 0                     # step calls so far: per-step gate mask seeds
        self.masks = masks                      # _masks.MaskBook: the variational noise
        self._rules = None
        self._stock_drops = None

    def state_rules(self, cell, state, leaf_count):
        """Per-leaf rules for this wrapper's state; worked out once, at the first step.

        A wrapper's state has one structure for its whole life, so the cell-tree walk (and a
        user visitor) runs once, not at every step of an eager loop.  GRUs the policy left to
        stock math get plain ``DROP``.
        """
        if self._rules is None or len(self._rules) != leaf_count:
            self._rules = [
                _state_rules.DROP if isinstance(rule, _state_rules.GruState)
                and any(rule.cell is c for c in self.stock_gru_cells) else rule
                for rule in _state_rules.state_rules(cell, state, self.visitor)]
        return self._rules

    def stock_drops(self, wrapper, state):
        """Per leaf, True where the stock step drops it; worked out once, as the rules are.

        The stock filter decides (TF 1.4+: the wrapper's own, which keeps an ``LSTMStateTuple``
        memory and a ``TensorArray``); TF 1.2/1.3 drop every tensor, or those a backported user
        filter lets through.
        """
        flat = _compat.tf_modules()[-1].flatten(state)
        if self._stock_drops is None or len(self._stock_drops) != len(flat):
            visitor = getattr(wrapper, "_dropout_state_filter", None) or self.visitor
            decisions = ([True] * len(flat) if visitor is None
                         else _state_rules.visitor_decisions(visitor, state))
            self._stock_drops = [decision and not _state_rules.is_tensor_array(leaf)
                                 for decision, leaf in zip(decisions, flat)]
        return self._stock_drops


def plan_of(wrapper):
    return getattr(wrapper, PLAN_ATTRIBUTE, None)


_should_dropout = _training.should_dropout


def _gate_requested(gate_keep_prob):
    # Unlike the stock keep probabilities, an int 1 also means "off": the keyword is ours.
    return not (isinstance(gate_keep_prob, numbers.Real) and gate_keep_prob == 1)


# --- Construction ------------------------------------------------------------------------------

def _check_keep_prob(name, value):
    fix = "pass a float in (0, 1] or a scalar float tensor, e.g. %s=0.8" % name
    if value is None or isinstance(value, (bool, str, bytes)):
        raise TypeError("%s=%r is not a keep probability; %s." % (name, value, fix))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number) or not 0.0 < number <= 1.0:
            raise ValueError("%s=%r is outside (0, 1]: a keep probability of 0 divides by zero "
                             "and one above 1 is meaningless; %s." % (name, value, fix))
        return
    dtype = getattr(value, "dtype", None)
    if dtype is not None and hasattr(dtype, "is_floating") and not dtype.is_floating:
        raise TypeError("%s=%r has dtype %s; %s." % (name, value, dtype.name, fix))
    shape = getattr(value, "shape", None)
    if shape is None:
        try:
            import numpy
            shape = numpy.shape(value)
        except Exception:
            raise TypeError("%s=%r is not a keep probability; %s." % (name, value, fix))
    dims = getattr(shape, "dims", shape)
    if dims is not None:
        sizes = [getattr(d, "value", d) for d in dims]
        if len(sizes) > 0 and not all(size == 1 for size in sizes):
            raise ValueError("%s must be a scalar, got shape %s; %s." % (name, list(sizes), fix))
    if not hasattr(value, "dtype") or not hasattr(value, "shape"):
        return
    try:
        from tensorflow.python.framework import tensor_util
        constant = tensor_util.constant_value(value) if hasattr(value, "op") else None
    except Exception:
        constant = None
    if constant is not None:
        _check_keep_prob(name, float(constant))


def _check_cell(cell):
    if isinstance(cell, type):
        raise TypeError("cell=%s is a class; pass an instance of it, e.g. cell=%s(num_units)."
                        % (cell.__name__, cell.__name__))
    if not callable(cell) or not hasattr(cell, "state_size"):
        raise TypeError("cell=%r is not an RNN cell (it has no state_size or cannot be called); "
                        "pass a cell instance, e.g. cell=tf.nn.rnn_cell.GRUCell(num_units)."
                        % (cell,))


def check_arguments(arguments, visitor):
    """Raise a clear TypeError/ValueError for bad wrapper arguments (DESIGN 3.7)."""
    if "cell" in arguments:
        _check_cell(arguments["cell"])
    for name in _KEEP_PROBS:
        if name in arguments:
            _check_keep_prob(name, arguments[name])
    variational = arguments.get("variational_recurrent", False)
    if not isinstance(variational, bool) and type(variational).__name__ != "bool_":
        raise TypeError("variational_recurrent=%r must be True or False." % (variational,))
    seed = arguments.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError("seed=%r must be an int or None, e.g. seed=42." % (seed,))
    if visitor is not None and not callable(visitor):
        raise TypeError("dropout_state_filter_visitor=%r is not callable; pass a function "
                        "state -> bool (or a depth-1 structure of bools), or None." % (visitor,))
    if variational:
        if arguments.get("dtype") is None:
            raise ValueError("variational_recurrent=True needs dtype, the dtype of the inputs "
                             "and state; pass e.g. dtype=tf.float32.")
        keep_in = arguments.get("input_keep_prob", 1.0)
        if arguments.get("input_size") is None and (
                not isinstance(keep_in, numbers.Real) or keep_in < 1):
            raise ValueError("variational_recurrent=True with input dropout needs input_size, "
                             "the depth of the inputs; pass e.g. input_size=inputs.shape[-1] "
                             "(or a nested structure of depths).")


def _gru_message(wrapper_class, cells, keep_prob):
    names = ", ".join("%s %r" % (type(c).__name__, getattr(c, "name", None) or "") for c in cells)
    return ("%s(state_keep_prob=%s) drops the carried state of %s; a GRU carries that state "
            "linearly (h' = u*h + (1-u)*c~), so it grows as (u/keep)^t until the loss is NaN "
            "(tensorflow/tensorflow#11650)"
            % (wrapper_class.__name__, keep_prob if isinstance(keep_prob, float) else "<tensor>",
               names))


def _apply_gru_policy(wrapper, cell, visitor):
    """GRU cells whose state dropout stays stock; warns or raises as the policy says."""
    try:
        structure = cell.state_size
        rules = _state_rules.state_rules(cell, structure, visitor)
    except Exception:   # a state_size known only after build: decide at the first step
        return []
    cells = _state_rules.gru_cells(rules)
    if not cells:
        return []
    policy, source = _config.gru_policy()
    message = _gru_message(type(wrapper), cells, wrapper._state_keep_prob)
    if policy == "raise":
        raise _errors.UnsafeStateDropoutError(
            message + ". gru_policy='raise' (from %s) forbids it: set state_keep_prob=1.0 and "
            "use input/output dropout, or use gru_policy='reroute' to drop h only inside the "
            "recurrent products." % source)
    if policy == "warn":
        _errors.warn(message + ". Keeping the stock math because gru_policy='warn' (from %s); "
                     "use gru_policy='reroute' or state_keep_prob=1.0." % source, stacklevel=4)
        return cells
    unsupported = [c for c in cells if not _gru.can_reroute(c)]
    if unsupported:
        _errors.warn(_gru_message(type(wrapper), unsupported, wrapper._state_keep_prob)
                     + ". tf_rnn_dropout_fix cannot reroute this GRU (a family it does not "
                     "know, a cell with its own call, or a Keras GRUCell with its own dropout "
                     "or recurrent_dropout), so it keeps the stock math (policy 'warn'); use "
                     "GRUCell without its own dropout, or state_keep_prob=1.0.", stacklevel=4)
    return unsupported


def _gate_plan(wrapper, gate_keep_prob):
    """[(cell, candidate dropout)] for every cell gate dropout reaches; [] at keep 1."""
    if not _gate_requested(gate_keep_prob):
        return []
    cells = _gate.gate_cells(_compat.wrapped_cell(wrapper))
    return [(cell, _gate.candidate_dropout(wrapper, gate_keep_prob, index))
            for index, cell in enumerate(cells)]


def make_plan(wrapper, visitor, gate_keep_prob, input_size, dtype):
    stock_gru_cells = []
    if _should_dropout(wrapper._state_keep_prob):
        stock_gru_cells = _apply_gru_policy(wrapper, _compat.wrapped_cell(wrapper), visitor)
    gates = _gate_plan(wrapper, gate_keep_prob)
    gate_seed = (_gate.construction_seed(wrapper)
                 if gates and wrapper._variational_recurrent else None)
    masks = _masks.MaskBook(wrapper, input_size, dtype, gate_seed)
    return _Plan(visitor, stock_gru_cells, gate_keep_prob, gates, masks)


def start_sequence(wrapper, plan, training=None):
    """A new sequence: in eager mode and in functions, new variational masks (``_masks``).

    ``training`` is what Keras resolved for the layer call that starts it (None outside Keras).
    """
    _masks.start_sequence(wrapper, plan.masks, lambda: _gate.sequence_seed(wrapper), training)


def make_corrected_init(original_init):
    """The replacement ``__init__`` for one wrapper logic class."""
    signature = _pycompat.signature(original_init)
    backport_filter = "dropout_state_filter_visitor" not in signature.parameters

    def __init__(self, *args, **kwargs):
        gate_keep_prob = kwargs.pop("gate_keep_prob", 1.0)
        with _guard.in_use() as installed:
            if installed and _config.corrections_active():
                _check_keep_prob("gate_keep_prob", gate_keep_prob)
                corrected_init(self, args, kwargs, gate_keep_prob)
                return
            if _gate_requested(gate_keep_prob):
                raise ValueError("gate_keep_prob=%r needs tf_rnn_dropout_fix, which is disabled "
                                 "here (inside disabled() or after unpatch()); build the wrapper "
                                 "with the correction active or pass gate_keep_prob=1.0."
                                 % (gate_keep_prob,))
            original_init(self, *args, **kwargs)
            if installed:     # inside disabled(): stock for life (unpatched: corrected later)
                object.__setattr__(self, PLAN_ATTRIBUTE, None)

    def corrected_init(self, args, kwargs, gate_keep_prob):
        visitor = kwargs.pop("dropout_state_filter_visitor", None) if backport_filter else None
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            bound = None      # let the stock constructor report the wrong call itself
        arguments = {}
        if bound is not None:
            arguments = dict(bound.arguments)
            for name, parameter in signature.parameters.items():
                arguments.setdefault(name, parameter.default)
            if not backport_filter:
                visitor = arguments.get("dropout_state_filter_visitor")
            check_arguments(arguments, visitor)
        original_init(self, *args, **kwargs)
        object.__setattr__(self, PLAN_ATTRIBUTE, make_plan(
            self, visitor, gate_keep_prob, arguments.get("input_size"), arguments.get("dtype")))
        _compat.track_wrapped_cell(self)

    return _compat.stands_in_for(__init__, original_init)


# --- The step ----------------------------------------------------------------------------------

def _drop_leaf(wrapper, index, value, noise, keep_prob):
    """Stock state dropout of one leaf: the variational mask, or a fresh per-step one."""
    if noise is not None:
        return wrapper._variational_recurrent_dropout_value(index, value, noise, keep_prob)
    return _compat.per_step_dropout(value, keep_prob, wrapper._gen_seed("state", index))


def _drop_tail(wrapper, index, value, noise, keep_prob, memory_units, counting=None):
    """Concatenated [c, h] LSTM state: drop the h columns only; c passes untouched.

    With variational noise and a constant keep, stock's own ops on the whole leaf with keep 1
    on the memory columns: ``floor(1 + u)`` is 1 for uniform noise ``u < 1`` and ``c / 1 * 1``
    is ``c`` bit for bit, and the step has stock's op count (DESIGN 3.6).  Otherwise the h
    columns are sliced off, dropped and put back; where op counts seed the graph, after
    stock's drop of the whole leaf, built unused, and hidden from the seeds (``_seeds``).
    """
    width = value.get_shape()[-1:].num_elements()
    if noise is not None and isinstance(keep_prob, numbers.Real) and width is not None:
        keep_by_column = [1.0] * memory_units + [float(keep_prob)] * (width - memory_units)
        return wrapper._variational_recurrent_dropout_value(index, value, noise, keep_by_column)

    def sliced():
        array_ops = _compat.tf_modules()[0]
        memory, hidden = value[:, :memory_units], value[:, memory_units:]
        hidden = _drop_leaf(wrapper, index, hidden,
                            None if noise is None else noise[:, memory_units:], keep_prob)
        return array_ops.concat([memory, hidden], 1)
    if counting is None:
        return sliced()
    _drop_leaf(wrapper, index, value, noise, keep_prob)
    return _seeds.hide(counting.graph, sliced)


class _Counting(object):
    """Where op counts seed the graph (``_seeds``): what keeps this step's count stock's.

    ``stock_drops``: per leaf, whether stock drops it (None without state dropout).  ``early``:
    the dropped GRU states built ahead of their stock place, or None.  ``shadowed``: the step
    has ops with no stock counterpart, so stock's whole step is built first, unused, and the
    corrected one hidden.
    """
    __slots__ = ("graph", "stock_drops", "early", "shadowed")

    def __init__(self, graph, stock_drops, early, shadowed):
        self.graph, self.stock_drops, self.early = graph, stock_drops, early
        self.shadowed = shadowed


def _state_dropout(wrapper, rules, new_state, noise, keep_prob, counting=None):
    """State dropout by rule; ``counting`` where op counts seed the graph, else None.

    There a leaf stock drops and the rules keep (an LSTM memory on TF 1.2/1.3, a Keras
    ``[h, c]`` memory) gets stock's drop ops too, unused and so pruned from every run, and a
    GRU's dropped state, built early, stops counting as ahead where stock builds it: the graph
    leaves the step with stock's op count, and layers made after the RNN get their stock seeds.
    """
    nest = _compat.tf_modules()[-1]
    flat = nest.flatten(new_state)
    changed = False
    for index, rule in enumerate(rules):
        leaf_noise = None if noise is None else noise[index]
        if rule is _state_rules.KEEP:
            if counting is not None and counting.stock_drops[index]:
                _drop_leaf(wrapper, index, flat[index], leaf_noise, keep_prob)
        elif rule is _state_rules.DROP:
            flat[index] = _drop_leaf(wrapper, index, flat[index], leaf_noise, keep_prob)
            changed = True
        elif isinstance(rule, _state_rules.GruState):
            if counting is not None and counting.early is not None:
                counting.early.release(index)
        elif isinstance(rule, _state_rules.DropTail):
            flat[index] = _drop_tail(wrapper, index, flat[index], leaf_noise, keep_prob,
                                     rule.memory_units, counting)
            changed = True
    return nest.pack_sequence_as(new_state, flat) if changed else new_state


def _gated(call_cell, plan, seed_pair, keep_prob):
    plan.gate_steps += 1
    gates = [(cell, functools.partial(dropout, step=plan.gate_steps, seed_pair=seed_pair,
                                      keep_prob=keep_prob))
             for cell, dropout in plan.gates]

    def call_gated_cell(inputs, state):
        with _gate.gated(gates):
            return call_cell(inputs, state)
    return call_gated_cell


def _dropped_gru_state(wrapper, index, outer, state, noise, keep_prob, early):
    """A GRU's state as its recurrent products see it: built inside the cell's own call.

    ``outer``: the ``Deferred`` state of a DropoutWrapper around this one, or None.
    ``early``: the step's ``_seeds.EarlyOps`` where op counts seed the graph, or None.
    """
    base = state if outer is None else outer.value()
    if early is None:
        return _drop_leaf(wrapper, index, base, noise, keep_prob)
    return early.build(index, lambda: _drop_leaf(wrapper, index, base, noise, keep_prob))


def _builds_late(leaves, altered):
    """True when a leaf cell would build its variables after a corrected op of this step.

    A graph-level seed derives an unseeded initialiser's op seed from the graph's op count, so
    variables keep their stock values only if every op before them is one stock creates there.
    Inside ``altered`` cells (GRUs rerouted, candidates gated) the corrected ops follow the cell's
    own variables, but they precede those of any leaf still unbuilt after it, and a ``_linear``-era
    GRU (TF 1.2 - 1.4) makes its variables in its step, after the dropped state.  Asked only
    where ``_seeds`` does not count the step's early ops: gate dropout, a graph without a seed,
    and releases that count unseeded random ops instead of ops.
    """
    seen_altered = False
    for leaf in leaves:
        unbuilt = not getattr(leaf, "built", True)
        if seen_altered and unbuilt:
            return True
        if any(leaf is cell for cell in altered):
            if unbuilt and _gru.builds_in_call(leaf):
                return True
            seen_altered = True
    return False


def corrected_step(wrapper, plan, inputs, state, call_cell, training=None, call_stock=None):
    """Input dropout, the cell (GRUs rerouted, candidates gated), state dropout, output dropout.

    ``training``: the step's own argument, else the one Keras resolved for the sequence; false
    turns every dropout off (``_training``), None (no Keras) leaves it on, as stock.
    ``call_stock``: builds the stock step instead (a shadowed step builds it first, unused).
    """
    masks = _masks.current(plan.masks)
    keep = _training.KeepProbabilities(
        wrapper, plan.gate_keep_prob, masks.training if training is None else training)
    keep_prob = keep.state
    rules, noise = None, None
    if _should_dropout(keep_prob):
        nest = _compat.tf_modules()[-1]
        rules = plan.state_rules(_compat.wrapped_cell(wrapper), state, len(nest.flatten(state)))
        noise = nest.flatten(masks.state) if wrapper._variational_recurrent else None
    gates = plan.gates if plan.gates and _should_dropout(keep.gate) else []
    counting = _counting(wrapper, plan, state, rules, gates)
    if counting is not None and counting.shadowed and _built_stock_step(call_stock):
        return _seeds.hide(counting.graph, lambda: _rest_of_step(
            wrapper, plan, masks, keep, inputs, state, call_cell, rules, noise, gates, None))
    try:
        return _rest_of_step(wrapper, plan, masks, keep, inputs, state, call_cell, rules, noise,
                             gates, counting)
    finally:
        if counting is not None and counting.early is not None:
            counting.early.release_all()


def _built_stock_step(call_stock):
    """Stock's whole step, unused (pruned from every run): stock's ops and variables in stock's
    order.  False where stock cannot build it; the corrected step then runs unshadowed."""
    if call_stock is None:
        return False
    try:
        call_stock()
    except Exception:
        return False
    return True


def _counting(wrapper, plan, state, rules, gates):
    """The step's ``_Counting`` in a seeded graph whose seeds count ops, else None.

    A rerouted GRU's dropped state counts as ahead of its stock place (``_seeds.EarlyOps``).
    Gate dropout and a fused GRU's op-by-op step have no stock counterpart: there the step is
    shadowed.
    """
    graph = None if rules is None and not gates else _compat.op_count_seeded_graph()
    if graph is None:
        return None
    grus = [rule.cell for rule in rules or () if isinstance(rule, _state_rules.GruState)]
    shadowed = bool(gates) or any(_gate.is_fused(cell) for cell in grus)
    early = _seeds.EarlyOps(graph) if grus and not shadowed else None
    stock_drops = None if rules is None else plan.stock_drops(wrapper, state)
    return _Counting(graph, stock_drops, early, shadowed)


def _rest_of_step(wrapper, plan, masks, keep, inputs, state, call_cell, rules, noise, gates,
                  counting):
    if _should_dropout(keep.input):
        inputs = wrapper._dropout(inputs, "input", masks.input, keep.input)
    keep_prob = keep.state
    early = None if counting is None else counting.early
    requests = []
    if rules is not None:
        flat_state = _compat.tf_modules()[-1].flatten(state)
        requests = [(rule.cell, _gru.Deferred(functools.partial(
            _dropped_gru_state, wrapper, index, _gru.requested_for(rule.cell), flat_state[index],
            None if noise is None else noise[index], keep_prob, early)))
            for index, rule in enumerate(rules) if isinstance(rule, _state_rules.GruState)]
    altered = [cell for cell, _ in requests] + [cell for cell, _ in gates]
    if altered and early is None and _builds_late(
            _state_rules.leaf_cells(_compat.wrapped_cell(wrapper)), altered):
        call_cell(inputs, state)    # stock's step builds every variable as stock does; its
        #                             unused ops are pruned from every run
    if gates:
        call_cell = _gated(call_cell, plan, masks.gate_seed, keep.gate)
    if requests:
        with _gru.rerouted(requests):
            output, new_state = call_cell(inputs, state)
    else:
        output, new_state = call_cell(inputs, state)
    if rules is not None:
        new_state = _state_dropout(wrapper, rules, new_state, noise, keep_prob, counting)
    if _should_dropout(keep.output):
        output = wrapper._dropout(output, "output", masks.output, keep.output)
    return output, new_state


def make_init_accepting_keras_lstm(cls, original_init):
    """The V2 wrapper's ``__init__`` without its Keras-LSTMCell refusal, while corrections run."""
    def __init__(self, *args, **kwargs):
        if not _config.corrections_active():
            return original_init(self, *args, **kwargs)
        super(cls, self).__init__(*args, **kwargs)

    return _compat.stands_in_for(__init__, original_init)


def make_corrected_get_config(original):
    """``get_config`` that also records ``gate_keep_prob`` (so ``from_config`` restores it)."""
    def get_config(self):
        config = original(self)
        plan = plan_of(self)
        if plan is not None and _gate_requested(plan.gate_keep_prob):
            config["gate_keep_prob"] = plan.gate_keep_prob
        return config
    return _compat.stands_in_for(get_config, original)


def _user_visitor(wrapper):
    """The filter a stock constructor recorded, unless it is the stock default (TF 1.4+)."""
    visitor = getattr(wrapper, "_dropout_state_filter", None)
    if getattr(visitor, "__name__", None) == "_default_dropout_state_filter_visitor":
        return None
    return visitor


def _noise_dtype(wrapper):
    """The dtype a stock constructor drew its variational noise in (None if it drew none)."""
    nest = _compat.tf_modules()[-1]
    for kind in _masks.NOISE_KINDS:
        for noise in nest.flatten(getattr(wrapper, "_recurrent_%s_noise" % kind, None)):
            if noise is not None:
                return noise.dtype
    return None


def _step_plan(wrapper, installed):
    """The plan to step with, or None for the stock step (unpatched meanwhile, or disabled).

    A wrapper the stock constructor built (before the patch) gets its plan here, at its first
    corrected step: the GRU policy applies to it then, and its own filter is kept.
    """
    if not installed or not _config.corrections_active():
        return None
    plan = getattr(wrapper, PLAN_ATTRIBUTE, _NOT_SEEN)
    if plan is _NOT_SEEN:
        visitor = _user_visitor(wrapper)
        plan = make_plan(wrapper, visitor, 1.0, getattr(wrapper, "_input_size", None),
                         _noise_dtype(wrapper))
        object.__setattr__(wrapper, PLAN_ATTRIBUTE, plan)
        _compat.track_wrapped_cell(wrapper)
    return plan


def _guarded_step(wrapper, inputs, state, call_cell, call_stock, training=None):
    """One step, corrected or (unpatched meanwhile, disabled) stock, never half of each."""
    with _guard.in_use() as installed:
        plan = _step_plan(wrapper, installed)
        if plan is None:
            return call_stock()
        return corrected_step(wrapper, plan, inputs, state, call_cell, training, call_stock)


def make_corrected_call(method_name, original):
    """The replacement step method, in the calling convention of ``method_name``."""
    if method_name == "_call_wrapped_cell":
        def _call_wrapped_cell(self, inputs, state, cell_call_fn, **kwargs):
            return _guarded_step(
                self, inputs, state, lambda i, s: cell_call_fn(i, s, **kwargs),
                lambda: original(self, inputs, state, cell_call_fn, **kwargs),
                kwargs.get("training"))
        replacement = _call_wrapped_cell
    else:
        def __call__(self, inputs, state, scope=None):
            return _guarded_step(self, inputs, state, lambda i, s: self._cell(i, s, scope),
                                 lambda: original(self, inputs, state, scope))
        replacement = __call__
    return _compat.stands_in_for(replacement, original)

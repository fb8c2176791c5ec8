"""Which parts of an RNN state state dropout may touch (DESIGN 3.2, 3.3).

The rules are one per leaf of ``nest.flatten(state)``:

* ``DROP``: ordinary state dropout on the outgoing leaf (an LSTM ``h``, a vanilla RNN state);
* ``KEEP``: never touched (an LSTM memory ``c``, a ``TensorArray``, a leaf a user filter excludes);
* ``DropTail(n)``: a concatenated ``[c, h]`` LSTM state (``state_is_tuple=False``); only the
  columns after the first ``n`` (the ``h`` half) are dropped;
* ``GruState(cell)``: a GRU's carried state; dropped only where it enters the recurrent matrix
  products of the next step (see ``_gru``), never in the carried ``u*h + (1-u)*c~``.

The stock filter (TF 1.4+) recognises only its own package's ``LSTMStateTuple``; here any
namedtuple with fields ``c`` and ``h`` counts, as do Keras ``[h, c]`` list states and the
concatenated state, found by walking the cell tree alongside the state.
"""
from tf_rnn_dropout_fix import _compat

DROP = "drop"
KEEP = "keep"


class DropTail(object):
    """Drop only the columns after the first ``memory_units`` of one concatenated leaf."""
    __slots__ = ("memory_units",)

    def __init__(self, memory_units):
        self.memory_units = memory_units


class GruState(object):
    """A GRU's carried state: ``cell`` is the GRU whose step the mask must enter."""
    __slots__ = ("cell",)

    def __init__(self, cell):
        self.cell = cell


def class_names(cell):
    return " ".join(klass.__name__ for klass in type(cell).__mro__)


def is_gru(cell):
    return "GRU" in class_names(cell)


def leaf_cells(cell):
    """The cells that do the work under ``cell``: through MultiRNNCell and any wrapper."""
    sub_cells = getattr(cell, "_cells", None)
    if "MultiRNNCell" in class_names(cell) and sub_cells is not None:
        return [leaf for sub_cell in sub_cells for leaf in leaf_cells(sub_cell)]
    inner = _compat.inner_cell(cell)
    if inner is not None and "Wrapper" in class_names(cell):
        return leaf_cells(inner)
    return [cell]


def _is_memory_tuple(structure):
    fields = getattr(structure, "_fields", ())
    return "c" in fields and "h" in fields


def _children(structure):
    if isinstance(structure, dict):
        return [structure[key] for key in sorted(structure)]
    return list(structure)


def _leaf_count(structure):
    return len(_compat.tf_modules()[-1].flatten(structure))


def is_tensor_array(leaf):
    return type(leaf).__name__ == "TensorArray"


def _default_rules(structure):
    """The stock 1.4 filter, duck-typed: ``c`` of any (c, h) namedtuple and TensorArrays kept."""
    if _is_memory_tuple(structure):
        rules = []
        for name, value in zip(structure._fields, structure):
            rules += [KEEP] * _leaf_count(value) if name == "c" else _default_rules(value)
        return rules
    if is_tensor_array(structure):
        return [KEEP]
    if not _compat.is_nested(structure):
        return [DROP]
    rules = []
    for child in _children(structure):
        rules += _default_rules(child)
    return rules


def _lstm_rules(cell, structure):
    if getattr(cell, "_state_is_tuple", True) is False and not _compat.is_nested(structure):
        return [DropTail(int(cell._num_units))]
    if isinstance(structure, (list, tuple)) and not _is_memory_tuple(structure) \
            and len(structure) == 2 and "keras" in type(cell).__module__ \
            and not hasattr(cell, "_state_is_tuple"):
        return [DROP, KEEP]           # a Keras LSTMCell's [h, c] list state
    return None


def cell_rules(cell, structure):
    """Rules for ``structure`` (a state, or the cell's ``state_size``) of ``cell``."""
    names = class_names(cell)
    sub_cells = getattr(cell, "_cells", None)
    if "MultiRNNCell" in names and sub_cells is not None and _compat.is_nested(structure) \
            and len(_children(structure)) == len(sub_cells):
        rules = []
        for sub_cell, sub_structure in zip(sub_cells, _children(structure)):
            rules += cell_rules(sub_cell, sub_structure)
        return rules
    inner = _compat.inner_cell(cell)
    if inner is not None and "Wrapper" in names:
        try:
            same = _leaf_count(inner.state_size) == _leaf_count(structure)
        except Exception:
            same = False
        if same:
            return cell_rules(inner, structure)
    if "LSTM" in names:
        rules = _lstm_rules(cell, structure)
        if rules is not None:
            return rules
    if is_gru(cell) and _leaf_count(structure) == 1:    # h, or a Keras RNN's [h]
        return [GruState(cell)]
    return _default_rules(structure)


def visitor_decisions(visitor, structure):
    """Flat per-leaf booleans of a ``dropout_state_filter_visitor``, as TF 1.4+ reads them.

    Same semantics as ``nest.get_traverse_shallow_structure`` followed by the wrapper's
    ``_dropout``: a ``False`` prunes a subtree, ``True`` descends into it, a depth-1 structure of
    booleans decides each child; at a leaf the visitor's boolean is the answer.
    """
    decision = visitor(structure)
    if not _compat.is_nested(structure):
        if not isinstance(decision, bool):
            raise TypeError("dropout_state_filter_visitor must return a bool for a leaf; it "
                            "returned %r for %r." % (decision, structure))
        return [decision]
    children = _children(structure)
    if isinstance(decision, bool):
        if not decision:
            return [False] * _leaf_count(structure)
        flags = [True] * len(children)
    else:
        flags = _children(decision)
        if len(flags) != len(children) or not all(isinstance(f, bool) for f in flags):
            raise TypeError("dropout_state_filter_visitor must return a bool or a depth-1 "
                            "structure of bools matching %r; it returned %r."
                            % (structure, decision))
    decisions = []
    for flag, child in zip(flags, children):
        decisions += visitor_decisions(visitor, child) if flag else [False] * _leaf_count(child)
    return decisions


def state_rules(cell, structure, user_visitor=None):
    """The per-leaf rules; a user's filter decides *whether* a leaf is dropped (it wins)."""
    rules = cell_rules(cell, structure)
    if user_visitor is None:
        return rules
    decisions = visitor_decisions(user_visitor, structure)
    merged = []
    for rule, decision in zip(rules, decisions):
        if not decision:
            merged.append(KEEP)
        else:
            merged.append(DROP if rule is KEEP else rule)
    return merged


def gru_cells(rules):
    return [rule.cell for rule in rules if isinstance(rule, GruState)]

"""Op-count seeds that stay stock where the corrected step builds other ops than stock's.

Under a graph-level seed, TF 1.x - 2.1 give an unseeded random op the graph's op count
(``graph._last_id``) as its op seed, so any op the corrected step builds where stock builds
none shifts the initial values of every variable made after it.  Op ids are never reused, so
the count itself cannot go back.  Instead the package's ``get_seed`` (``make_get_seed``,
installed on those releases while the package is patched) gives such an op the count stock's
graph would have at that point, as an explicit op seed: ``get_seed`` of an explicit seed returns
the very pair that deriving it returns.  Two kinds of ops are discounted:

* *ahead* (``EarlyOps``): a GRU's dropped state, which the corrected step builds at the start
  of the cell's own call (``_gru``) and stock after the cell, counts until the step reaches
  stock's place for it;
* *hidden* (``hide``): ops with no stock counterpart at all (gate dropout, a fused GRU's step run
  op by op, a sliced concatenated state), built after stock's own ops for that place, which are
  built unused (pruned from every run); they count for the rest of the graph's life.

The discounted ops' own random ops (per-step dropout without a wrapper seed) take seeds above
every op count, so no two random ops of a graph share one.  A graph with nothing discounted
reaches TF's own ``get_seed`` unchanged.
"""
import threading
import weakref

_APART = 1 << 30     # discounted ops' own random ops: above the op count of any real graph
_lock = threading.Lock()
_local = threading.local()
_hidden = weakref.WeakKeyDictionary()     # graph -> ops hidden for good


def _thread():
    state = getattr(_local, "state", None)
    if state is None:
        state = _local.state = {"graph": None, "ahead": 0, "building": 0}
    return state


def _stock_count(graph):
    """The op count stock's graph would have now, or None where it is the graph's own."""
    state = _thread()
    mine = state["graph"] is graph
    if mine and state["building"]:
        return graph._last_id + _APART
    discounted = _hidden.get(graph, 0) + (state["ahead"] if mine else 0)
    return graph._last_id - discounted if discounted else None


def _counting_here():
    """True while this thread has ops ahead or being discounted (no dict made otherwise)."""
    state = getattr(_local, "state", None)
    return state is not None and bool(state["ahead"] or state["building"])


def make_get_seed(original):
    """TF's ``random_seed.get_seed`` with the discounted ops left out of derived op seeds."""
    def get_seed(op_seed):
        if op_seed is None and (_hidden or _counting_here()):
            from tensorflow.python.framework import ops
            graph = ops.get_default_graph()
            if graph.seed is not None:
                op_seed = _stock_count(graph)
        return original(op_seed)
    return get_seed


def _measured(graph, make):
    """``make()`` with its own random ops seeded apart; (its value, the ops it built)."""
    state = _thread()
    outer = state["graph"]
    state["graph"] = graph
    state["building"] += 1
    before = graph._last_id
    try:
        value = make()
    finally:
        state["building"] -= 1
        state["graph"] = outer
    return value, graph._last_id - before


def building(graph):
    """True while ops of ``graph`` are being hidden or counted ahead by this thread."""
    state = _thread()
    return bool(state["building"]) and state["graph"] is graph


def hide(graph, make):
    """``make()``, whose ops stock's graph does not have (stock's are built before it, unused).

    Inside ops of the same graph already being hidden, the outer ``hide`` counts them.
    """
    nested = building(graph)
    value, count = _measured(graph, make)
    if not nested:
        with _lock:
            _hidden[graph] = _hidden.get(graph, 0) + count
    return value


class EarlyOps(object):
    """The ops one corrected step builds ahead of their stock place, by state leaf."""
    __slots__ = ("graph", "by_leaf")

    def __init__(self, graph):
        self.graph, self.by_leaf = graph, {}

    def build(self, index, make):
        """``make()`` now; its ops count as ahead until ``release(index)``."""
        value, count = _measured(self.graph, make)
        state = _thread()
        if state["building"]:
            return value        # inside ops being hidden: counted there
        state["graph"] = self.graph
        state["ahead"] += count
        self.by_leaf[index] = self.by_leaf.get(index, 0) + count
        return value

    def release(self, index):
        """Stock's step builds leaf ``index``'s dropped state here."""
        state = _thread()
        state["ahead"] -= self.by_leaf.pop(index, 0)
        if not state["ahead"] and not state["building"]:
            state["graph"] = None

    def release_all(self):
        for index in list(self.by_leaf):
            self.release(index)

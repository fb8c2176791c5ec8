"""Patch bookkeeping: saved originals, apply, restore, and patching copies imported later.

Modelled on gevent's ``monkey.saved`` and pytest's ``monkeypatch``: every original is recorded
once from the class ``__dict__`` (``setdefault``, so a second patch never records a patched
method as the original), restoration runs in reverse order and puts back the very same objects
(or deletes an attribute the class did not own).  Patching the class, not a module attribute,
reaches every alias, every name bound by ``from ... import DropoutWrapper`` before the patch,
and every user subclass.

``patch``/``unpatch`` change the classes only while no corrected constructor or step runs in
another thread (``_guard``), and a patch that comes after wrappers were built finds them, so the
caller can say so (gevent warns the same way when it patches too late).

Keras 2 and tf_keras carry their own copies of the wrapper and of ``GRUCell``; when such a
module is imported after the patch (TF 2.16+ loads tf_keras only when the program touches
``tf.compat.v1.nn.rnn_cell``), an import hook patches it as it loads, so the package never
imports anything the program would not have imported.
"""
import functools
import gc
import itertools
import os
import sys
import threading

from tf_rnn_dropout_fix import (_compat, _gate, _gru, _guard, _keras3_gru, _pycompat,
                                _seeds, _sequences, _wrapper)

_MISSING = object()
_lock = threading.RLock()
_saved = {}        # (class, attribute) -> the class's own original value, or _MISSING
_order = []        # the same keys, in the order they were patched
_hook = [None]
_import_callbacks = {}   # module name -> callbacks to run once it is imported


def is_patched():
    return bool(_order)


def patched_classes():
    return list(dict.fromkeys(cls for cls, _ in _order))


def original(cls, name):
    """The stock attribute ``name`` of ``cls`` as it was before the patch."""
    value = _saved.get((cls, name), _MISSING)
    return vars(cls).get(name) if value is _MISSING else value


def _set(cls, name, replacement):
    key = (cls, name)
    if key not in _saved:
        _saved[key] = vars(cls).get(name, _MISSING)
        _order.append(key)
    setattr(cls, name, replacement)


def _restore(keys):
    for key in reversed(keys):
        cls, name = key
        value = _saved.pop(key)
        if value is _MISSING:
            if name in vars(cls):
                delattr(cls, name)
        else:
            setattr(cls, name, value)
        _order.remove(key)


def _patch_module(module):
    """Patch the wrapper logic classes and GRUCells defined in one module."""
    for cls in _compat.wrapper_logic_classes(module):
        if (cls, "__init__") in _saved:
            continue
        method = _compat.wrapper_call_method(cls)
        _set(cls, "__init__", _wrapper.make_corrected_init(vars(cls)["__init__"]))
        _set(cls, method, _wrapper.make_corrected_call(method, vars(cls)[method]))
        if "get_config" in vars(cls):
            _set(cls, "get_config", _wrapper.make_corrected_get_config(vars(cls)["get_config"]))
        for name in ("zero_state", "get_initial_state"):     # where a sequence starts
            if _sequences.inherits(cls, name):
                _set(cls, name, _sequences.make_sequence_start(cls, name))
    for cls in _compat.public_wrapper_classes(module):
        if _compat.refuses_keras_lstm(cls) and (cls, "__init__") not in _saved:
            _set(cls, "__init__", _wrapper.make_init_accepting_keras_lstm(
                cls, vars(cls)["__init__"]))
    for cls in _compat.gru_cell_classes(module):
        if (cls, "call") in _saved:
            continue
        if _compat.keras3_gru_masks_carried_state(cls):     # its own recurrent_dropout too
            _keras3_gru.patch_class(cls, _set, _gru.make_rerouting_call)
        else:
            _set(cls, "call", _gru.make_rerouting_call(cls, vars(cls)["call"]))
    for cls in _compat.keras_rnn_classes(module, _sequences.KERAS_SEQUENCE_START):
        if (cls, _sequences.KERAS_SEQUENCE_START) not in _saved:
            _set(cls, _sequences.KERAS_SEQUENCE_START, _sequences.make_keras_sequence_start(
                vars(cls)[_sequences.KERAS_SEQUENCE_START]))
    if _compat.defines(module, _sequences.RNN_ENTRY_CHECK, "python.ops.rnn_cell_impl") \
            and (module, _sequences.RNN_ENTRY_CHECK) not in _saved:
        _set(module, _sequences.RNN_ENTRY_CHECK, _sequences.make_rnn_entry_check(
            vars(module)[_sequences.RNN_ENTRY_CHECK]))
    for cls in _compat.block_lstm_classes(module):
        if (cls, "call") not in _saved:
            _set(cls, "call", _gate.make_gateable_block_lstm_call(cls, vars(cls)["call"]))


def _patch_seed_derivation():
    """TF 1.x - 2.1: derived op seeds that leave out the ops ``_seeds`` discounts."""
    random_seed = sys.modules.get("tensorflow.python.framework.random_seed")
    if random_seed is not None and _compat.seeds_count_ops() \
            and (random_seed, "get_seed") not in _saved:
        _set(random_seed, "get_seed", _compat.stands_in_for(
            _seeds.make_get_seed(vars(random_seed)["get_seed"]), vars(random_seed)["get_seed"]))


def patch_loaded_modules(find_existing=False, whole_heap=True):
    """Patch every copy loaded now; all or nothing (a failure restores what this call did).

    Returns the wrapper instances built before this call, while the classes were stock, when
    ``find_existing`` (a program that imported TensorFlow before the package may have some):
    searched in the whole heap when ``whole_heap``, else in what the program's own code
    reaches (``_reachable_instances``).
    """
    with _guard.changing(), _lock:
        before = len(_order)
        try:
            for module in _compat.loaded_candidate_modules():
                _patch_module(module)
            _patch_seed_derivation()
        except BaseException:
            _restore(_order[before:])
            raise
        _guard.set_installed(True)
        _install_hook()
        newly_patched = [cls for cls, name in _order[before:] if name == "__init__"
                         and not _compat.keras3_gru_masks_carried_state(cls)]
        if not (find_existing and newly_patched):
            return []
        return _instances_built_stock(newly_patched, whole_heap)


def restore_all():
    with _guard.changing(), _lock:
        _guard.set_installed(False)
        if not _import_callbacks:
            _remove_hook()
        _restore(list(_order))


# --- Wrappers built before the patch -----------------------------------------------------------

def _instances_built_stock(classes, whole_heap=True):
    """Live instances of ``classes`` (subclasses included) that no corrected constructor built.

    ``whole_heap``: ``gc.get_referrers`` walks the heap in C: an instance refers to its class,
    so this finds every one without a Python loop over every object (7 ms after importing
    TF 1.3, 20-40 ms after TF 1.15, 60 ms after TF 2.21, measured); ``patch()`` does this.
    Otherwise (``import tf_rnn_dropout_fix`` after TensorFlow, where 60 ms is 1.5 % of the
    program's start-up) only the objects the program's own code reaches are searched.  Runs
    only when a patch changes the classes and TensorFlow was imported before the package.
    """
    family, pending = set(), list(classes)
    while pending:
        cls = pending.pop()
        if cls not in family:
            family.add(cls)
            pending.extend(cls.__subclasses__())
    classes = tuple(classes)
    found = []
    candidates = _referrers_but_tuples(family) if whole_heap else _reachable_instances(family)
    for obj in candidates:
        try:
            if isinstance(obj, classes) and _wrapper.PLAN_ATTRIBUTE not in vars(obj):
                found.append(obj)
        except Exception:   # an object without a __dict__
            continue
    return found


def _referrers_but_tuples(classes):
    """The referrers of ``classes`` except tuples, found without letting another thread run
    while a tuple is held.

    The referrers include tuples other threads are still filling from a generator (Keras'
    ``swap_class`` makes one of a wrapper's bases on every layer construction).  Such a tuple
    is resized in place when its generator ends, which fails with SystemError ("bad argument to
    internal function") while anyone else holds a reference to it.  So the walk, the dropping
    of tuples and their release happen inside one call into C (``list`` over ``filterfalse``
    over ``chain``): the interpreter switches threads only between bytecodes, and the garbage
    collector, whose finalizers could run Python code, is paused meanwhile.  No instance of a
    wrapper is a tuple, and no other object the heap walk can return is resized in place.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return list(_pycompat.filterfalse(
            functools.partial(type.__instancecheck__, tuple),
            itertools.chain.from_iterable(itertools.starmap(gc.get_referrers, [classes]))))
    finally:
        if collecting:
            gc.enable()


# What the search from the program's own code never descends into: none holds a wrapper that
# the program could still use (a module is searched only when it is the program's own).
_OPAQUE_TYPES = (type, type(sys), type(len), type(_set), type(_set.__code__),
                 type(sys._getframe()) if hasattr(sys, "_getframe") else type)
_LIBRARY_PACKAGES = frozenset((
    "tensorflow", "tensorflow_core", "tensorflow_estimator", "tensorboard", "keras", "tf_keras",
    "numpy", "google", "absl", "h5py", "wrapt", "six", "ml_dtypes", "opt_einsum", "gast",
    "astor", "termcolor", "flatbuffers", "grpc", "scipy", "pkg_resources", "setuptools", "pip",
    "tf_rnn_dropout_fix", "_pytest", "pytest", "pluggy", "py", "importlib_metadata"))
_SEARCH_BUDGET = 200000     # objects looked at, at most: a few ms


def _program_roots():
    """The namespaces of the program's own code: the locals and globals of every frame on every
    thread's stack, and the globals of every module that is not a library's."""
    roots, stdlib = [], os.path.dirname(os.__file__)
    for frame in list(sys._current_frames().values()):
        while frame is not None:
            roots.append(frame.f_locals)
            roots.append(frame.f_globals)
            frame = frame.f_back
    for name, module in list(sys.modules.items()):
        if name.split(".", 1)[0] in _LIBRARY_PACKAGES:
            continue
        # vars(), never getattr: a lazily loaded module imports itself on attribute access.
        namespace = vars(module) if isinstance(module, type(sys)) else {}
        where = namespace.get("__file__") or ""
        if where and not (where.startswith(stdlib) and "-packages" not in where):
            roots.append(namespace)
    return roots


def _reachable_instances(classes):
    """Instances of ``classes`` the program's own code reaches through containers and object
    attributes, breadth first with ``gc.get_referents`` (in C), within ``_SEARCH_BUDGET``.

    Looks only at objects some other object refers to, so it never holds a tuple that another
    thread is still building (see ``_referrers_but_tuples``).
    """
    seen, found, looked = set(), [], 0
    frontier = _program_roots()
    while frontier and looked < _SEARCH_BUDGET:
        looked += len(frontier)
        following = []
        for obj in gc.get_referents(*frontier):
            if id(obj) in seen or not gc.is_tracked(obj) or isinstance(obj, _OPAQUE_TYPES):
                continue
            seen.add(id(obj))
            following.append(obj)
            if type(obj) in classes:
                found.append(obj)
        frontier = following
    return found


def late_patch_message(instances):
    """One sentence each: what was found, what the patch corrects now, and what it cannot."""
    used = sum(1 for wrapper in instances
               if getattr(_compat.wrapped_cell(wrapper), "built", False))
    return ("tf_rnn_dropout_fix patched after %d DropoutWrapper instance%s had been built with "
            "the stock class%s. Graphs built from these wrappers from now on use the corrected "
            "step; graphs and tf.function traces built before keep the stock ops: rebuild them, "
            "or import tf_rnn_dropout_fix before building the model."
            % (len(instances), "" if len(instances) == 1 else "s",
               " (%d already used to build a graph)" % used if used else ""))


# --- Copies imported after the patch -----------------------------------------------------------

def _after_import(module):
    """Runs right after a selected module executes: its callbacks, then its patch."""
    for callback in _import_callbacks.pop(module.__name__, ()):
        try:
            callback()
        except Exception:   # a flag name clash must not break the program's import
            pass
    with _lock:
        if not _guard.installed():
            return
        try:
            _patch_module(module)
        except Exception as exc:   # never break the program's import
            from tf_rnn_dropout_fix import _errors
            _errors.warn("could not correct the DropoutWrapper copy in %s (%s: %s); it "
                         "keeps the stock behaviour." % (module.__name__,
                                                         type(exc).__name__, exc))


def _wants(fullname):
    """The modules the import hook waits for: RNN cell modules and those with callbacks."""
    return fullname in _import_callbacks or _compat.is_candidate_module(fullname)


def when_imported(name, callback):
    """Run ``callback`` now if module ``name`` is loaded, else right after it is imported.

    Used for absl's flags: the package declares its flags without importing absl itself.
    """
    with _lock:
        if name in sys.modules:
            callback()
            return
        _import_callbacks.setdefault(name, []).append(callback)
        _install_hook()


def _install_hook():
    if _hook[0] is None:
        _hook[0] = _pycompat.PostImportHook(_wants, _after_import)
        sys.meta_path.insert(0, _hook[0])


def _remove_hook():
    finder, _hook[0] = _hook[0], None
    if finder is not None and finder in sys.meta_path:
        sys.meta_path.remove(finder)

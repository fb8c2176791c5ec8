"""What the installed TensorFlow has, and where: the only module that knows TF versions differ.

Everything version-specific is data here plus small adapters:

* ``SUPPORTED``: the TF releases the package is proven on.
* Which modules may hold a copy of the wrapper or of ``GRUCell`` (``_CANDIDATE_MODULE``): TF
  core, TF's frozen internal Keras copy, Keras 2 and tf_keras each carry their own.  Copies are
  found at run time by their shape (the methods they define), never by one hard-coded path.
* ``GRU_STEP_ERAS``: how each ``GRUCell`` era reaches its variables (``_linear`` under
  ``gates``/``candidate`` scopes up to TF 1.4, kernel attributes from ``build`` after).
* ``per_step_dropout``, ``inner_cell``, ``flatten``/``pack``: the few calls whose spelling moved.
"""
import importlib
import os
import re
import sys

from tf_rnn_dropout_fix import _pycompat

SUPPORTED = ((1, 2), (2, 21))

PUBLIC_ALIASES = (
    "nn.rnn_cell.DropoutWrapper",
    "contrib.rnn.DropoutWrapper",
    "compat.v1.nn.rnn_cell.DropoutWrapper",
    "nn.RNNCellDropoutWrapper",
    "compat.v2.nn.RNNCellDropoutWrapper",
)

# Modules that define RNN cells or their wrappers in some TF / Keras / tf_keras release:
# rnn_cell_impl, rnn_cell_wrapper_impl, rnn_cell_wrapper_v2, legacy_cells, cell_wrappers, ...,
# under one of the root packages.  One match per name: the import hook asks it of every module
# the program imports (3,000 on TF 1.15 under Python 2, whose implicit relative imports probe
# each name twice).
_CANDIDATE_MODULE = re.compile(
    r"(?:tensorflow|tensorflow_core|keras|tf_keras)\.(?:.*\.)?"
    r"(?:rnn_cell\w*|\w*cell_wrappers?\w*|legacy_cells|recurrent|base_rnn|gru|gru_ops|lstm_ops|"
    r"cudnn_rnn_ops)$")


# --- TensorFlow itself -------------------------------------------------------------------------

def import_tensorflow():
    """(module, None) or (None, reason and fix): importing the package must survive a broken TF.

    A TF that is missing and one that is installed but fails to import (a half-removed install,
    a protobuf or numpy it cannot work with) need different fixes, so they are told apart; a
    known pin problem (``PIN_PROBLEMS``) names the pin to install.
    """
    try:
        import tensorflow
        return tensorflow, None
    except ImportError as exc:
        if _pycompat.missing_module_name(exc) == "tensorflow":
            return None, ("TensorFlow is not installed (%s). Install it with `pip install "
                          "tensorflow` (or tensorflow-cpu, or tensorflow-gpu for TF 1.x)" % exc)
        failure = exc
    except Exception as exc:  # a half-installed TF raises all sorts of things
        failure = exc
    return None, import_failure_message(failure)


# A TF that fails to import because of a package it cannot work with: (pattern of the error,
# what is wrong, the plain pin).  The constraints file of the TF line pins all of them at once.
PIN_PROBLEMS = (
    (r"Descriptors cannot (not )?be created directly",
     "protobuf is too new for this TensorFlow", 'pip install "protobuf<3.20"'),
    (r"compiled using NumPy 1\.x|_ARRAY_API not found|numpy\.core\.(_)?multiarray failed to "
     r"import|module 'numpy' has no attribute '(object|bool|int|float|str)'",
     "numpy is too new for this TensorFlow", 'pip install "numpy<1.24"'),
    (r"No module named '?numpy'?$|import of numpy halted", "numpy is not installed",
     "pip install numpy"),
)


IMPORT_FAILED = "is installed but failed to import"

# What TF imports first and can hide behind a later error of its own: TF 2.0 and 2.1 on Python
# 2.7 report a missing numpy as "No module named tools".  Imported, only when TF's error names
# no known cause, to find the first failure.
_SUSPECTS = ("numpy", "google.protobuf")


def _pin_problem(exc):
    """(what is wrong, the plain pin) when ``exc`` is a known pin problem, else None."""
    text = "%s: %s" % (type(exc).__name__, exc)
    for pattern, what, pin in PIN_PROBLEMS:
        if re.search(pattern, text, re.M):
            return what, pin
    return None


def _suspect_failure():
    """The error of the first of ``_SUSPECTS`` that fails to import, or None."""
    for name in _SUSPECTS:
        try:
            importlib.import_module(name)
        except Exception as exc:  # what TF met: any error, not only ImportError
            return exc
    return None


def import_failure_message(exc):
    """Why an installed TF failed to import, and the fix: a pin when the cause is a known one."""
    problem = _pin_problem(exc)
    if problem is None:
        underlying = _suspect_failure()
        found = _pin_problem(underlying) if underlying is not None else None
        if found is not None:
            exc, problem = underlying, found
    failure = "%s: %s" % (type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc)
                          else "")
    if problem is not None:
        what, pin = problem
        line = parse_version(installed_tf_version())
        constraints = ("compat/constraints/tf%d%d.txt" % line) if line else \
            "compat/constraints/tf<major><minor>.txt"
        return ("TensorFlow %s is installed but failed to import (%s): %s. Install the pins "
                "of its line: `pip install -r %s` from a clone of tf-rnn-dropout-fix, or "
                "`%s`" % (installed_tf_version() or "", failure, what, constraints, pin))
    return ("TensorFlow is installed but failed to import (%s). Repair the install, e.g. "
            "`pip install --force-reinstall tensorflow==<your version>` with the protobuf "
            "and numpy that TF line needs" % failure)


# --- What is installed, without importing it --------------------------------------------------

TF_DISTRIBUTIONS = ("tensorflow", "tensorflow_cpu", "tensorflow_gpu", "tensorflow_intel",
                    "tensorflow_macos")


def is_installed(name):
    """True when the top-level module ``name`` can be imported; imports nothing."""
    if name in sys.modules:
        return sys.modules[name] is not None
    return _pycompat.top_level_module_exists(name)


def installed_version(distributions):
    """The version of the first of ``distributions`` installed on sys.path (from its
    ``*.dist-info`` / ``*.egg-info`` directory name), or None; imports nothing."""
    wanted = re.compile(r"^(%s)-(\d[^-]*?)(-py\d[.\d]*)?\.(dist|egg)-info$"
                        % "|".join(distributions), re.I)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except (OSError, TypeError):
            continue
        for name in names:
            match = wanted.match(name)
            if match:
                return match.group(2)
    return None


def installed_tf_version():
    """The TF version: of the loaded module, else of the installed distribution, else None."""
    tf = sys.modules.get("tensorflow")
    loaded = tf_version_string(tf) if tf is not None else None
    return loaded or installed_version(TF_DISTRIBUTIONS)


def tf_version_string(tf):
    for getter in (lambda: tf.version.VERSION, lambda: tf.__version__, lambda: tf.VERSION):
        try:
            value = getter()
            if isinstance(value, str) and value:
                return value
        except Exception:
            continue
    return None


def parse_version(text):
    """(major, minor) from '1.15.5', '2.21.0-rc1', '2.16.0.dev2024'; None when unparsable."""
    match = re.match(r"^\s*(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def support_problem(version_text):
    """None when the version is supported, else one sentence saying why not."""
    version = parse_version(version_text)
    if version is None:
        return "TensorFlow reports an unrecognised version %r" % (version_text,)
    low, high = SUPPORTED
    if not low <= version <= high:
        return ("TensorFlow %s is outside the supported range %d.%d to %d.%d"
                % ((version_text,) + low + high))
    return None


LEGACY_KERAS_ENV = "TF_USE_LEGACY_KERAS"
LEGACY_KERAS_FROM = (2, 16)     # TF 2.16+: tf.keras is Keras 3 unless tf_keras is switched on


def legacy_keras_on():
    """TF's own reading of TF_USE_LEGACY_KERAS (tensorflow/python/util/lazy_loader.py)."""
    return os.environ.get(LEGACY_KERAS_ENV) in ("true", "True", "1")


def tf_keras_fix(line):
    """The two steps that give TF 2.16+ the Keras 2 API ``tf.compat.v1.nn.rnn_cell`` needs."""
    return ('pip install "tf_keras~=%d.%d", then set %s=1 before importing TensorFlow'
            % (line[0], line[1], LEGACY_KERAS_ENV))


def keras_problem(line):
    """None when tf.compat.v1's rnn_cell works here, else why not and the fix (TF 2.16+)."""
    if line is None or line < LEGACY_KERAS_FROM:
        return None
    if legacy_keras_on():
        if is_installed("tf_keras"):
            return None
        return ("%s=1 is set but tf_keras is not installed, so tf.keras and "
                "tf.compat.v1.nn.rnn_cell cannot be imported: %s"
                % (LEGACY_KERAS_ENV, tf_keras_fix(line)))
    if is_installed("tf_keras"):
        fix = ("tf_keras %s is installed but not switched on: set %s=1 before importing "
               "TensorFlow" % (installed_version(("tf_keras",)) or "", LEGACY_KERAS_ENV))
    else:
        fix = tf_keras_fix(line)
    return ("TensorFlow %d.%d's tf.keras is Keras 3 here, which has no tf.compat.v1.nn.rnn_cell "
            "cells (\"GRUCell is not available with Keras 3\"): %s" % (line[0], line[1], fix))


def keras_flavour(line=None):
    """Which Keras package backs tf.keras and tf.compat.v1's rnn_cell here (status reports)."""
    if line is not None and line >= LEGACY_KERAS_FROM:
        if legacy_keras_on():
            return _package_flavour("tf_keras") or ("none: %s=1 but tf_keras is not installed"
                                                    % LEGACY_KERAS_ENV)
        return "Keras 3 (%s)" % (_package_flavour("keras") or "keras")
    for name in ("tf_keras", "keras"):
        module = sys.modules.get(name)
        if module is not None:
            return "%s %s" % (name, getattr(module, "__version__", "?"))
    return "TensorFlow's own"


def _package_flavour(name):
    module = sys.modules.get(name)
    if module is not None:
        return "%s %s" % (name, getattr(module, "__version__", "?"))
    if is_installed(name):
        return "%s %s, not imported yet" % (name, installed_version((name,)) or "?")
    return None


def copies_loaded_later(line):
    """The installed packages holding wrapper copies that are not imported yet, as
    (package, how the program reaches it) pairs; finds them without importing any."""
    later = []
    # tf.contrib sits in sys.modules as a lazy loader until used; its rnn module is the copy.
    if line is not None and line[0] == 1 and not any(
            name in sys.modules for name in ("tensorflow.contrib.rnn",
                                             "tensorflow_core.contrib.rnn")):
        homes = [os.path.dirname(vars(sys.modules[name]).get("__file__") or "")
                 for name in ("tensorflow", "tensorflow_core") if sys.modules.get(name)]
        if any(home and os.path.isdir(os.path.join(home, "contrib")) for home in homes):
            later.append(("tensorflow.contrib", "tf.contrib.rnn"))
    if "tf_keras" not in sys.modules and is_installed("tf_keras"):
        reach = ("tf.compat.v1.nn.rnn_cell, tf.keras" if line is not None and
                 line >= LEGACY_KERAS_FROM and legacy_keras_on() else "import tf_keras")
        later.append(("tf_keras %s" % (installed_version(("tf_keras",)) or ""), reach))
    if "keras" not in sys.modules and is_installed("keras"):
        version = installed_version(("keras",)) or ""
        if version.startswith("2."):
            later.append(("keras %s" % version, "import keras"))
    return later


# Where the Keras 3 stack (TF 2.16+ without tf_keras switched on) leaves each wrapper path.
KERAS3_PATHS_WORKING = (
    "tf.nn.RNNCellDropoutWrapper around a Keras cell (TF's own copy of the wrapper)",
    "keras.layers.GRU / LSTM with dropout and recurrent_dropout (Keras 3's own layers)")
KERAS3_PATHS_NEEDING_TF_KERAS = (
    "tf.compat.v1.nn.rnn_cell.DropoutWrapper, GRUCell, LSTMCell, MultiRNNCell",
    "tf.compat.v1.nn.dynamic_rnn / static_rnn over those cells (TF1-style graphs)",
    "tf-rnn-dropout-fix repro and bench")


# --- Finding the copies ------------------------------------------------------------------------

def is_candidate_module(name):
    return _CANDIDATE_MODULE.match(name) is not None


def loaded_candidate_modules():
    # Filter on the names first: a list of (name, module) pairs for the ~2,000 modules TF
    # loads is enough allocation to set off a full garbage collection of TF's object graph.
    seen, modules = set(), []
    for name in [n for n in tuple(sys.modules) if is_candidate_module(n)]:
        module = sys.modules.get(name)
        if module is not None and id(module) not in seen:
            seen.add(id(module))
            modules.append(module)
    return modules


def _classes_defined_in(module):
    name = getattr(module, "__name__", None)
    for value in list(vars(module).values()):
        if isinstance(value, type) and value.__module__ == name:
            yield value


def _init_parameters(cls):
    try:
        return _pycompat.signature(vars(cls)["__init__"]).parameters
    except (KeyError, TypeError, ValueError):
        return {}


def wrapper_call_method(cls):
    """Name of the method holding the dropout logic of a wrapper class, or None."""
    own = vars(cls)
    if ("_dropout" not in own or "_gen_seed" not in own
            or "state_keep_prob" not in _init_parameters(cls)):
        return None
    if "_call_wrapped_cell" in own:   # TF >= 1.15 DropoutWrapperBase, Keras 2, tf_keras
        return "_call_wrapped_cell"
    if "__call__" in own:             # TF 1.2 - 1.14 DropoutWrapper(RNNCell)
        return "__call__"
    return None


def accepts_state_filter(cls):
    return "dropout_state_filter_visitor" in _init_parameters(cls)


def wrapper_logic_classes(module):
    """Classes in ``module`` that implement the DropoutWrapper dropout logic themselves."""
    return [cls for cls in _classes_defined_in(module) if wrapper_call_method(cls)]


def public_wrapper_classes(module):
    """The DropoutWrapper classes users name (V1 and V2 copies), defined in ``module``."""
    found = []
    for cls in _classes_defined_in(module):
        if "DropoutWrapper" in cls.__name__ and not cls.__name__.endswith("Base") \
                and any(wrapper_call_method(base) for base in cls.__mro__):
            found.append(cls)
    return found


# The GRU families whose state dropout the package reroutes (DESIGN 3.3), and from which TF
# release: before it (and for any other GRU-like cell) the policy falls back to 'warn'.  The
# runtime decides per class from its shape (``gru_step_era``); ``scan`` reads this table to say
# what the package does on the user's TF, so the two cannot drift.  GRUBlockCellV2 inherits
# GRUBlockCell's step; the fused block cells take gate dropout where they are rerouted.
#   (class name,              fused, rerouted from TF)
GRU_FAMILIES = (
    ("GRUCell",                False, (1, 2)),    # 'linear' 1.2 - 1.4, 'kernel' 1.5+, 'keras'
    ("GRUBlockCell",           True,  (1, 5)),    # 1.2 - 1.4: variables made in __call__
    ("GRUBlockCellV2",         True,  (1, 5)),
    ("CudnnCompatibleGRUCell", False, (1, 5)),    # 1.4: variables made in call
)
GRU_CLASS_NAMES = tuple(name for name, _, _ in GRU_FAMILIES)

# Keras 3 releases whose GRUCell masks the carried state in recurrent_dropout
# (keras-team/keras#20276, fixed in 3.8 by keras-team/keras#20656): [first, fixed).
KERAS3_GRU_CARRIED_STATE_DROPOUT = ((3, 0), (3, 8))


_KERAS_LSTM_REFUSAL = "keras LSTM cell does not work with DropoutWrapper"


def refuses_keras_lstm(cls):
    """True for a V2 wrapper whose own ``__init__`` refuses Keras LSTMCells (TF 2.0 - 2.x).

    The refusal protected the memory ``c`` that stock state dropout would drop; the corrected
    wrapper never drops it, so it accepts the cell (read from the code's constants: no source).
    """
    init = vars(cls).get("__init__")
    code = getattr(init, "__code__", None)
    return code is not None and any(
        isinstance(c, str) and _KERAS_LSTM_REFUSAL in c for c in code.co_consts)


def gru_step_era(cls):
    """How a GRU class lays out its variables: 'kernel', 'linear', 'cudnn', 'keras' or None.

    * 'kernel': TF's layout, gates [r, u] over ``[x, h]`` then the candidate over ``[x, r*h]``,
      in ``_gate_kernel``/``_candidate_kernel`` built in ``build``: ``GRUCell`` from TF 1.5 and
      the Keras legacy copies, contrib ``GRUBlockCell``/``GRUBlockCellV2`` where they build.
    * 'linear': the same layout made by the module's ``_linear`` inside ``call`` (TF 1.2 - 1.4).
    * 'cudnn': contrib ``CudnnCompatibleGRUCell``, the reset gate applied after the product:
      ``c~ = tanh(x W_ci + b_ci + r*(h W_ch + b_ch))``.
    * 'keras': ``keras.layers.GRUCell`` (``kernel``/``recurrent_kernel``, gates [z, r, h],
      ``reset_after``) in tf.keras, Keras 2 and tf_keras.
    None for anything else (``GRUBlockCell`` of TF releases that make its variables inside
    ``__call__``): the policy then falls back to 'warn'.
    """
    own = vars(cls)
    if cls.__name__ not in GRU_CLASS_NAMES or "call" not in own:
        return None
    if cls.__name__ == "CudnnCompatibleGRUCell":     # TF 1.4 makes its variables in call
        return "cudnn" if "build" in own else None
    if "reset_after" in _init_parameters(cls):
        return "keras"
    if "build" in own:
        return "kernel"
    if cls.__name__ == "GRUCell" and callable(
            getattr(sys.modules.get(cls.__module__), "_linear", None)):
        return "linear"
    return None


def keras_version_of(cls):
    """The version string of the Keras package that defines ``cls`` ('3.6.0'), or None."""
    root = cls.__module__.split(".", 1)[0]
    for name in (root + ".src.version", root):
        value = getattr(sys.modules.get(name), "__version__", None)
        if isinstance(value, str) and value:
            return value
    return None


def _code_names(function):
    function = getattr(function, "__wrapped__", function)    # the stock code under a patch
    return getattr(getattr(function, "__code__", None), "co_names", ())


def keras3_gru_masks_carried_state(cls):
    """True for a Keras 3 ``GRUCell`` whose ``recurrent_dropout`` masks ``h_{t-1}`` itself.

    Read from the class: a Keras 3 cell (``keras.src``, a ``seed_generator``, masks from
    ``get_recurrent_dropout_mask``) whose constructor does not ask for one mask per gate
    (``dropout_mask_count``, which keras-team/keras#20656 added with the fix).  The release
    table confirms it where the version is known.
    """
    if gru_step_era(cls) != "keras" or not cls.__module__.startswith("keras.src."):
        return False
    init_names = _code_names(vars(cls).get("__init__"))
    if "seed_generator" not in init_names or "dropout_mask_count" in init_names \
            or "get_recurrent_dropout_mask" not in _code_names(vars(cls).get("call")):
        return False
    version = parse_version(keras_version_of(cls))
    low, high = KERAS3_GRU_CARRIED_STATE_DROPOUT
    return version is None or low <= version < high


def gru_cell_classes(module):
    """GRUCell classes of a known layout (TF's or Keras') defined in ``module``."""
    return [cls for cls in _classes_defined_in(module) if gru_step_era(cls)]


def block_lstm_classes(module):
    """Contrib ``LSTMBlockCell`` classes that build ``_kernel``/``_bias`` (TF 1.5+ layout)."""
    return [cls for cls in _classes_defined_in(module) if cls.__name__ == "LSTMBlockCell"
            and "call" in vars(cls) and "build" in vars(cls)]


def qualified_name(cls):
    return "%s.%s" % (cls.__module__, cls.__name__)


def stands_in_for(replacement, original, patched_class=None):
    """Mark ``replacement`` as the package's stand-in for ``original`` and return it.

    ``__wrapped__`` leads back to the stock object (None where the class inherited it), the
    docstring stays the stock one, and ``__wrapped_class__`` names the cell class whose step a
    replacement ``call`` runs.
    """
    replacement.__wrapped__ = original
    if original is not None:
        replacement.__doc__ = original.__doc__
    if patched_class is not None:
        replacement.__wrapped_class__ = patched_class
    return replacement


# TF wraps its public API modules in a module subclass that forwards attribute reads to the real
# module and keeps it under one of these names: TF 1.14's DeprecationWrapper (whose own
# __dict__ holds no API names at all) and TF 1.15+'s TFModuleWrapper.
_API_MODULE_WRAPPED_ATTRIBUTES = ("_dw_wrapped_module", "_tfmw_wrapped_module")


def _unwrapped_api_namespace(namespace):
    for attribute in _API_MODULE_WRAPPED_ATTRIBUTES:
        wrapped = namespace.get(attribute)
        if wrapped is not None:
            return getattr(wrapped, "__dict__", {})
    return namespace


def resolve_alias(tf, path):
    """The object at ``tf.<path>`` if reachable without importing anything new, else None.

    TF reaches contrib, Keras and tf_keras through lazy loaders; touching them would import
    packages the program never asked for, so an unloaded lazy module ends the walk.
    """
    obj = tf
    for part in path.split("."):
        namespace = getattr(obj, "__dict__", {})
        if part not in namespace:
            if type(obj).__name__.endswith("LazyLoader"):
                target = sys.modules.get(namespace.get("__name__", ""))
                namespace = getattr(target, "__dict__", {})
            else:
                namespace = _unwrapped_api_namespace(namespace)
            if part not in namespace:
                return None
        obj = namespace[part]
        if type(obj).__name__.endswith("LazyLoader"):
            loaded = sys.modules.get(getattr(obj, "__dict__", {}).get("__name__", ""))
            if loaded is None:
                return None
            obj = loaded
    return obj


# --- Small adapters used on the hot path -------------------------------------------------------

def tf_modules():
    """The private TF op modules the cell steps use; the same names in every TF 1.2 - 2.21."""
    from tensorflow.python.ops import array_ops, init_ops, math_ops, nn_ops
    from tensorflow.python.ops import variable_scope
    from tensorflow.python.util import nest
    return array_ops, init_ops, math_ops, nn_ops, variable_scope, nest


def per_step_dropout(value, keep_prob, seed):
    """Non-variational dropout, spelled as the stock wrapper of this TF spells it."""
    from tensorflow.python.ops import nn_ops
    if hasattr(nn_ops, "dropout_v2"):     # TF >= 1.13; the wrappers of 1.15+ call it directly
        return nn_ops.dropout_v2(value, rate=1. - keep_prob, seed=seed)
    return nn_ops.dropout(value, keep_prob=keep_prob, seed=seed)


_SEEDS_COUNT_OPS = []      # the answer of seeds_count_ops, once known


def seeds_count_ops():
    """True where a graph-level seed derives an unseeded op's seed from the graph's op count.

    TF 1.x - 2.1 read ``graph._last_id``; TF 2.2+ count the unseeded random ops of each graph
    (``random_seed._graph_to_seed_dict``), so ops without randomness shift no seed there.
    """
    if not _SEEDS_COUNT_OPS:
        from tensorflow.python.framework import random_seed
        _SEEDS_COUNT_OPS.append(not hasattr(random_seed, "_graph_to_seed_dict"))
    return _SEEDS_COUNT_OPS[0]


def op_count_seeded_graph():
    """The default graph, if it is a TF1 graph with a graph-level seed whose unseeded random ops
    take their seed from its op count; else None.

    Eager mode and function graphs (whose stateful ops all run) are left out.
    """
    if not seeds_count_ops() or executing_eagerly():
        return None
    from tensorflow.python.framework import ops
    graph = ops.get_default_graph()
    if graph.seed is None or getattr(graph, "building_function", False):
        return None
    return graph


def stateless_uniform(shape, seed, dtype):
    """Uniform [0, 1) noise that is a function of ``seed`` (an int64 pair tensor) only."""
    try:
        from tensorflow.python.ops import gen_stateless_random_ops
    except ImportError:      # TF < 1.5 keeps the op's Python wrapper in contrib
        # by its full name: the package deletes its attribute (remove_undocumented), which
        # Python 2's `from ... import` does not find in sys.modules as Python 3 does
        gen_stateless_random_ops = importlib.import_module(
            "tensorflow.contrib.stateless.gen_stateless_random_ops")
    return gen_stateless_random_ops.stateless_random_uniform(shape, seed, dtype=dtype)


# The function graphs of while and cond bodies inside a tf.function: subclasses of one
# ControlFlowFuncGraph from TF 2.4 on, three separate FuncGraph subclasses in TF 1.15 - 2.3.
_CONTROL_FLOW_GRAPH_CLASSES = ("ControlFlowFuncGraph", "CondBranchFuncGraph",
                               "WhileCondFuncGraph", "WhileBodyFuncGraph")


def is_control_flow_graph(graph):
    return any(klass.__name__ in _CONTROL_FLOW_GRAPH_CLASSES for klass in type(graph).__mro__)


def executing_eagerly():
    try:
        from tensorflow.python.eager import context
    except ImportError:      # TF < 1.4: graphs only
        return False
    # TF 1.4 - 1.6 spell it in_eager_mode; executing_eagerly arrived in 1.7.
    check = getattr(context, "executing_eagerly", None) or context.in_eager_mode
    return check()


def is_nested(structure):
    from tensorflow.python.util import nest
    check = getattr(nest, "is_nested", None) or nest.is_sequence
    return check(structure)


def inner_cell(cell):
    """The cell a wrapper (Residual, Device, Dropout, a user wrapper) delegates to, or None."""
    for attribute in ("cell", "_cell"):
        inner = getattr(cell, attribute, None)
        if inner is not None and inner is not cell and hasattr(inner, "state_size"):
            return inner
    return None


def silenced_deprecations():
    """A context in which TF's own deprecation notices (``LSTMCell`` will be removed...) stay
    quiet, for the demonstration and the benchmark; TF < 1.14 has no switch, and prints them."""
    try:
        from tensorflow.python.util import deprecation
        return deprecation.silence()
    except (ImportError, AttributeError):
        return _pycompat.null_context()


def keras_rnn_classes(module, method_name):
    """Keras RNN layer classes of ``module`` that define ``method_name`` (a per-call hook)."""
    return [cls for cls in _classes_defined_in(module) if method_name in vars(cls)]


def defines(module, name, module_suffix):
    """True when ``module`` (named ``*<module_suffix>``) holds a function ``name``."""
    return module.__name__.endswith(module_suffix) and callable(vars(module).get(name))


def _keras_package(layer):
    """The package of ``layer``'s Keras copy: ``tf_keras.src``, ``keras``, ``keras.src``..."""
    name = type(layer).__module__
    return name.split(".layers.", 1)[0] if ".layers." in name else None


def keras_training(layer):
    """The ``training`` Keras resolved for the call of ``layer`` now running, by Keras' rules.

    Its call context's value (``fit``: true; ``predict``, ``evaluate``: false), else, as Keras
    cells read an unset one, the learning phase (0 in eager mode unless the program set it, a
    placeholder in TF1-style Keras graphs).  None when ``layer``'s Keras copy is not known.
    """
    package = _keras_package(layer)
    utils = sys.modules.get("%s.engine.base_layer_utils" % package)
    backend = sys.modules.get("%s.backend" % package)
    training = None
    context = getattr(utils, "call_context", None)
    if context is not None and getattr(context(), "layer", None) is layer:
        training = context().training
    if training is None and hasattr(backend, "learning_phase"):
        training = _read_learning_phase(backend)
    return training


def _read_learning_phase(backend):
    """``backend.learning_phase()``, leaving an unset global learning phase unset.

    TF 2.2's Keras caches the eager default (0) on a read as if the program had set it, and
    from then on passes ``training=False`` to every layer called outside ``fit``: a
    DropoutWrapper in ``dynamic_rnn`` would stop dropping.  Its read is undone here; Keras
    copies that do not cache a read (TF 2.3+) have nothing to undo.
    """
    is_set = getattr(backend, "global_learning_phase_is_set", None)
    was_set = is_set is None or is_set()
    phase = backend.learning_phase()
    if not was_set and is_set():
        phases = getattr(backend, "_GRAPH_LEARNING_PHASES", None)
        eager_key = getattr(getattr(backend, "_DUMMY_EAGER_GRAPH", None), "key", None)
        if phases is not None and eager_key is not None:
            phases.pop(eager_key, None)
    return phase


def track_wrapped_cell(wrapper):
    """Make a Keras-layer wrapper report its cell's weights (``trainable_weights``, ``fit``).

    The compat.v1 wrappers derive from the legacy ``tf.layers`` base, which turns off Keras'
    attribute tracking, so ``self.cell = cell`` leaves the cell out of the layer's sublayers:
    the checkpoint sees it (the wrapper tracks it by name), Keras' weight lists do not.  The
    sublayer list is ``_self_tracked_trackables`` from Keras 2.5, ``_layers`` before.
    """
    cell = wrapped_cell(wrapper)
    if cell is None or not hasattr(cell, "trainable_weights"):
        return
    for name in ("_self_tracked_trackables", "_layers"):
        sublayers = vars(wrapper).get(name)
        if isinstance(sublayers, list):
            if not any(layer is cell for layer in sublayers):
                sublayers.append(cell)
            return


def wrapped_cell(wrapper):
    """The wrapped cell of a DropoutWrapper: ``self.cell`` from TF 1.15, ``self._cell`` before."""
    cell = getattr(wrapper, "cell", None)
    return cell if cell is not None else getattr(wrapper, "_cell", None)

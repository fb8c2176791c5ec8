"""The demonstration: stock versus corrected DropoutWrapper on the installed TensorFlow.

Builds the same TF1-style graph twice (``dynamic_rnn`` over random inputs, one gradient-descent
step), once inside ``disabled()`` (stock) and once corrected, with identical weights, and
reports max |state| at a few time steps and the loss after one training step.
"""
import importlib
import math

import numpy as np

import tf_rnn_dropout_fix

CELLS = ("gru", "lstm-concat", "lstm")
STATE_KEEP_PROB = 0.8


def _v1(tf):
    return tf.compat.v1 if hasattr(tf, "compat") and hasattr(tf.compat, "v1") else tf


def _make_cell(v1, kind, units):
    if kind == "gru":
        return v1.nn.rnn_cell.GRUCell(units)
    if kind == "lstm-concat":
        return v1.nn.rnn_cell.LSTMCell(units, state_is_tuple=False, forget_bias=5.0)
    return v1.nn.rnn_cell.LSTMCell(units, forget_bias=5.0)


def run_case(kind, steps, stock, units=32, batch=8, depth=8, keep=STATE_KEEP_PROB, seed=0):
    """Max |carried state| per step and the loss after one training step, as floats."""
    import tensorflow as tf
    v1 = _v1(tf)
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(seed)
        rng = np.random.RandomState(seed)
        inputs = tf.constant(rng.randn(batch, steps, depth).astype(np.float32))
        cell = _make_cell(v1, kind, units)
        trace = _trace_cell_class()(cell, kind, units)
        if stock:
            with tf_rnn_dropout_fix.disabled():
                wrapper = v1.nn.rnn_cell.DropoutWrapper(
                    trace, state_keep_prob=keep, variational_recurrent=True, dtype=tf.float32,
                    seed=seed)
        else:
            wrapper = v1.nn.rnn_cell.DropoutWrapper(
                trace, state_keep_prob=keep, variational_recurrent=True, dtype=tf.float32,
                seed=seed)
        outputs, _ = v1.nn.dynamic_rnn(wrapper, inputs, dtype=tf.float32)
        loss = tf.reduce_mean(tf.square(outputs[:, :, :units]))
        train = v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            for variable in sorted(v1.trainable_variables(), key=lambda v: v.name):
                if "kernel" in variable.name:
                    shape = variable.get_shape().as_list()
                    variable.load(rng.uniform(-0.5, 0.5, shape).astype(np.float32), session)
            values = session.run(outputs)
            session.run(train)
            final_loss = float(session.run(loss))
    with np.errstate(invalid="ignore", over="ignore"):
        memory = np.max(np.abs(values[:, :, units:]), axis=(0, 2))
    return memory, final_loss


def _trace_cell_class():
    """A pass-through wrapper that appends the carried memory to the output, for the report.

    Its name says Wrapper and it keeps the cell as ``_cell``, so the state rules look through it.
    """
    import tensorflow as tf
    v1 = _v1(tf)
    base = v1.nn.rnn_cell.RNNCell

    class MemoryTraceWrapper(base):
        def __init__(self, cell, kind, units):
            super(MemoryTraceWrapper, self).__init__()
            self._cell, self._kind, self._units = cell, kind, units

        @property
        def state_size(self):
            return self._cell.state_size

        @property
        def output_size(self):
            return 2 * self._units

        def zero_state(self, batch_size, dtype):
            return self._cell.zero_state(batch_size, dtype)

        def __call__(self, inputs, state, scope=None):
            output, new_state = self._cell(inputs, state, scope=scope)
            if self._kind == "gru":
                memory = new_state
            elif self._kind == "lstm-concat":
                memory = new_state[:, :self._units]
            else:
                memory = new_state.c
            return tf.concat([output, memory], 1), new_state

    return MemoryTraceWrapper


def report_steps(steps):
    marks, mark = [], 1
    while mark < steps:
        marks.append(mark)
        mark *= 10
    return marks + [steps]


def _fmt(value):
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf"
    return "%.3g" % value


class Comparison(object):
    """Stock and corrected runs of one cell: max |carried state| per step, loss after a step."""

    def __init__(self, kind, stock_memory, stock_loss, fixed_memory, fixed_loss):
        self.kind = kind
        self.runs = (("stock", stock_memory, stock_loss), ("corrected", fixed_memory, fixed_loss))


def run_keras3_gru_case(steps, stock, units=32, batch=8, depth=16, rate=0.5, seed=0):
    """Keras 3's own ``GRU(recurrent_dropout=rate)``: max |h| per step, loss after one SGD step."""
    import keras
    keras.utils.set_random_seed(seed)
    rng = np.random.RandomState(seed)
    inputs = rng.randn(batch, steps, depth).astype(np.float32)
    if stock:
        with tf_rnn_dropout_fix.disabled():
            layer = keras.layers.GRU(units, recurrent_dropout=rate, return_sequences=True)
    else:
        layer = keras.layers.GRU(units, recurrent_dropout=rate, return_sequences=True)
    model = keras.Sequential([keras.Input((steps, depth)), layer])
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    values = np.asarray(model(inputs, training=True))
    model.train_on_batch(inputs, np.zeros_like(values))
    with np.errstate(invalid="ignore", over="ignore"):
        final_loss = float(np.mean(np.square(np.asarray(model(inputs, training=True)))))
        memory = np.max(np.abs(values), axis=(0, 2))
    return memory, final_loss


def compare(kind, steps):
    case = run_keras3_gru_case if kind == "keras3-gru" else (
        lambda steps, stock: run_case(kind, steps, stock))
    stock_memory, stock_loss = case(steps, stock=True)
    fixed_memory, fixed_loss = case(steps, stock=False)
    return Comparison(kind, stock_memory, stock_loss, fixed_memory, fixed_loss)


def table(comparison):
    """The header and the stock / corrected rows of one comparison, as text cells."""
    steps = len(comparison.runs[0][1])
    marks = report_steps(steps)
    header = ["cell", "wrapper"] + ["max|state| t=%d" % t for t in marks] + ["loss after 1 step"]
    rows = [[comparison.kind, name] + [_fmt(float(memory[t - 1])) for t in marks] + [_fmt(loss)]
            for name, memory, loss in comparison.runs]
    return header, rows


def format_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


# --- The figure (matplotlib is optional: pip install tf-rnn-dropout-fix[plot]) -----------------

PLOT_INSTALL_HINT = "pip install 'tf-rnn-dropout-fix[plot]'  (or: pip install matplotlib)"
_TITLES = {"gru": "GRUCell(32)", "lstm-concat": "LSTMCell(32, state_is_tuple=False)",
           "lstm": "LSTMCell(32), tuple state",
           "keras3-gru": "keras.layers.GRU(32, recurrent_dropout=0.5)"}
_STYLES = {"stock": dict(color="#d62728", linewidth=1.6),
           "corrected": dict(color="#1f77b4", linewidth=1.6, linestyle="--")}


def matplotlib_problem():
    """None when the figure can be drawn, else why not (checked before the slow runs)."""
    try:
        for name in ("matplotlib.figure", "matplotlib.backends.backend_agg"):
            importlib.import_module(name)
    except ImportError as exc:
        return str(exc)
    return None


def _first_step(memory, test):
    where = np.flatnonzero(test(memory))
    return int(where[0]) + 1 if where.size else None


def plot(comparisons, path, tf_version, keep=STATE_KEEP_PROB):
    """Draw max |state| against the time step, log scale, stock and corrected, one panel per cell.

    Returns the matplotlib Figure.  A log axis cannot show inf or NaN: each curve stops at its last finite value and a dotted
    line marks the step where it overflows, labelled ``inf from t=...`` / ``nan from t=...``.
    Uses matplotlib's object API with the Agg canvas: no display, no pyplot global state.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(4.4 * len(comparisons), 3.6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(comparisons), squeeze=False)[0]
    for ax, comparison in zip(axes, comparisons):
        for name, memory, loss in comparison.runs:
            memory = np.asarray(memory, dtype=np.float64)
            steps = np.arange(1, len(memory) + 1)
            with np.errstate(invalid="ignore"):
                drawable = np.where(np.isfinite(memory) & (memory > 0), memory, np.nan)
            ax.plot(steps, drawable, label="%s (loss after 1 step: %s)" % (name, _fmt(loss)),
                    **_STYLES[name])
            first_inf = _first_step(memory, np.isinf)
            first_nan = _first_step(memory, np.isnan)
            marks = sorted((t, what) for t, what in ((first_inf, "inf"), (first_nan, "nan"))
                           if t is not None)
            if marks:
                start = marks[0][0]
                ax.axvline(start, color=_STYLES[name]["color"], linestyle=":", linewidth=1.2)
                right = start > 0.5 * len(memory)
                ax.annotate("%s: %s" % (name, ", ".join("%s from t=%d" % (w, t) for t, w in marks)),
                            xy=(start, 0.25), xycoords=("data", "axes fraction"),
                            xytext=(-4 if right else 4, 0), textcoords="offset points",
                            ha="right" if right else "left", va="center", fontsize=8,
                            color=_STYLES[name]["color"])
        ax.set_yscale("log")
        ax.set_xlim(1, max(len(comparison.runs[0][1]), 2))
        ax.set_title(_TITLES.get(comparison.kind, comparison.kind), fontsize=10)
        ax.set_xlabel("time step t")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8, frameon=False)
    axes[0].set_ylabel("max |state| (log scale)")
    figure.suptitle("TensorFlow %s: DropoutWrapper(state_keep_prob=%s, variational_recurrent=True),"
                    " stock vs corrected" % (tf_version, keep), fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    figure.savefig(path, dpi=80)
    return figure

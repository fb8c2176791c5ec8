"""Plot step time against sequence length from ``tf-rnn-dropout-fix bench --json`` lines.

Each input file holds the JSON lines of ``bench --json`` runs of one TensorFlow version at
several ``--steps`` (README, "What it costs", shows the loop that wrote ``docs/bench/*.jsonl``).
Needs matplotlib, which the package itself does not:

    python docs/plot_bench.py docs/bench/tf115-seqlen.jsonl docs/bench/tf221-seqlen.jsonl \\
        -o docs/bench-seqlen.png
"""
import argparse
import io
import json

# family -> [(case, label, colour, line style)]
SERIES = {
    "GRU": [("gru_nodrop", "no dropout", "0.6", ":"),
            ("gru_stock_state_dropout", "stock state dropout (NaN bug)", "tab:red", "--"),
            ("gru_reroute", "corrected: reroute", "tab:blue", "-"),
            ("gru_gate_dropout", "corrected: gate dropout", "tab:green", "-"),
            ("keras_gru_recurrent_dropout", "Keras GRU recurrent_dropout", "tab:purple", "-.")],
    "LSTM": [("lstm_nodrop", "no dropout", "0.6", ":"),
             ("lstm_stock_state_dropout", "stock state dropout", "tab:red", "--"),
             ("lstm_state_dropout", "corrected: state dropout", "tab:blue", "-"),
             ("lstm_gate_dropout", "corrected: gate dropout", "tab:green", "-")],
}


def load(path):
    with open(path) as handle:
        results = [json.loads(line) for line in handle if line.strip()]
    versions = set(result["tf_version"] for result in results)
    if len(versions) != 1:
        raise SystemExit("%s mixes TensorFlow versions %s; one file per version." % (path, versions))
    return sorted(results, key=lambda result: result["config"]["steps"])


def plot(runs, output):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(runs), 2, figsize=(9, 3.3 * len(runs)), squeeze=False)
    for row, results in enumerate(runs):
        config = results[0]["config"]
        for column, family in enumerate(("GRU", "LSTM")):
            ax = axes[row][column]
            for case, label, colour, style in SERIES[family]:
                points = [(r["config"]["steps"], 1e3 * r["cases"][case]["median_s"])
                          for r in results if case in r["cases"]]
                if points:
                    ax.plot(*zip(*points), marker="o", markersize=3, color=colour,
                            linestyle=style, label=label)
            ax.set_title("TF %s, %s" % (results[0]["tf_version"], family), fontsize=10)
            ax.set_xlabel("sequence length (steps)", fontsize=8)
            ax.set_ylabel("median training step (ms)", fontsize=8)
            ax.set_ylim(bottom=0)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    figure.suptitle("One training step, batch %d, %d units, %d thread(s), CPU (%s clock)"
                    % (config["batch"], config["units"], config["threads"],
                       config.get("clock", "wall")), fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72)
    buffer.seek(0)
    # A 128-colour palette keeps the README's image small; the plot has a dozen colours.
    from PIL import Image       # matplotlib's own dependency
    Image.open(buffer).convert("RGB").quantize(colors=128).save(output, optimize=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="bench --json lines, one file per TF version")
    parser.add_argument("-o", "--output", default="bench-seqlen.png", help="the PNG to write")
    args = parser.parse_args()
    plot([load(path) for path in args.files], args.output)


if __name__ == "__main__":
    main()

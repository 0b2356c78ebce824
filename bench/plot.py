"""docs/benchmarks.png from the JSON lines that bench/pipeline.py --json appends.

.venv/bin/python bench/plot.py bench/results.jsonl docs/benchmarks.png
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(src: str, dst: str) -> None:
    runs = [json.loads(line) for line in open(src) if line.strip()]
    labels = [f"run {i + 1}" for i in range(len(runs))]
    series = {
        "naive baseline": [r.get("naive_eps") or 0 for r in runs],
        "pipeline": [r["pipeline_eps"] for r in runs],
        "raw embedding ceiling": [r["ceiling"] for r in runs],
    }
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(series)
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - 1) * width for i in range(len(runs))]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(range(len(runs)), labels)
    ax.set_ylabel("events (prompts) per second")
    r0 = runs[0]
    ax.set_title(
        f"Flywheel on {r0['machine'].split(',')[1].strip()}: {r0['prompts']} distinct prompts, backend {r0['backend']}",
        fontsize=10,
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

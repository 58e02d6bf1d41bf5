"""Learning curves of a reproduction: every trial's running error against the training sequences
seen, one panel per setting, with the paper's mean number of sequences to success marked."""

from __future__ import annotations

import math
from pathlib import Path

from .experiments import SettingResult


def plot_curves(results: list[SettingResult], path: str | Path) -> Path:
    """Draw ``results`` to the PNG ``path`` (matplotlib, no display needed); returns the path."""
    try:
        import matplotlib
    except ImportError as e:                                        # pragma: no cover - depends on the install
        raise ImportError("--plot needs matplotlib: pip install 'lstmkit[plot]' (or matplotlib)") from e
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    n = len(results)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    for ax, r in zip(axes.flat, results):
        for t in r.trials:
            if not t.curve:
                continue
            xs, ys = zip(*t.curve)
            ax.plot(xs, [max(y, 1e-6) for y in ys], lw=1, alpha=0.8, color="tab:green" if t.solved else "tab:red")
            if t.solved:
                ax.plot([t.sequences], [max(ys[-1], 1e-6)], "o", ms=3, color="tab:green")
        if r.paper.sequences:
            ax.axvline(r.paper.sequences, color="k", ls="--", lw=1, label=f"paper: {r.paper.sequences:,.0f}")
            ax.legend(loc="upper right", fontsize=8)
        ax.set_yscale("log")
        ax.set_title(f"{r.experiment} {r.setting} ({r.mode}): {len(r.solved)}/{len(r.trials)} solved", fontsize=9)
        ax.set_xlabel("training sequences")
        ax.set_ylabel("running error E")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


__all__ = ["plot_curves"]

"""Attention plots of ``Seq2Seq``: which source characters each output character was written from."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np


def _shown(ch: str) -> str:
    return "\u2423" if ch == " " else ch               # a visible space


def _check(i: int, source: Any, target: Any, weights: Any) -> np.ndarray:
    where = "" if i < 0 else f"examples[{i}]: "
    for name, text in (("source", source), ("target", target)):
        if not isinstance(text, str):
            raise TypeError(f"{where}{name} must be a str, got {type(text).__name__}")
    if not source:
        raise ValueError(f"{where}source is an empty string: there is no attention to plot")
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != len(source) or w.shape[0] not in (len(target), len(target) + 1) or not w.size:
        raise ValueError(f"{where}weights must have shape (len(target), len(source)) = ({len(target)}, {len(source)}), "
                         f"or one more row for the end of the sequence; got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{where}weights hold NaN or inf")
    return w


def plot_attentions(examples: Sequence[tuple[str, str, Any]], path: str | Path, *, title: str | None = None) -> Path:
    """Save a PNG (or any format matplotlib writes, by the suffix) of one heat map per example:
    ``examples`` are (source, target, weights (len(target), len(source))), as ``Seq2Seq.attention``
    gives them; rows are output characters (a last row labelled </s> if the weights have one more,
    as ``attention(..., end=True)`` gives them), columns source characters. Returns the path."""
    if not isinstance(examples, (list, tuple)) or not examples:
        raise ValueError("examples must be a non-empty list of (source, target, weights)")
    checked = []
    for i, ex in enumerate(examples):
        if not isinstance(ex, (list, tuple)) or len(ex) != 3:
            raise TypeError(f"examples[{i}] must be (source, target, weights), got {type(ex).__name__}")
        checked.append((ex[0], ex[1], _check(i, *ex)))
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path: directory {str(path.parent)!r} does not exist")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting attention needs matplotlib: pip install matplotlib (or pip install "
                          "'lstmkit[plot]')") from None
    width = max(len(s) for s, _, _ in checked)
    heights = [len(w) for _, _, w in checked]
    fig, axes = plt.subplots(len(checked), 1, squeeze=False, gridspec_kw={"height_ratios": heights},
                             figsize=(max(4.0, 0.28 * width + 1.5), 0.3 * sum(heights) + 0.9 * len(checked) + 0.5))
    for ax, (source, target, w) in zip(axes[:, 0], checked):
        ax.imshow(w, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_xticks(range(len(source)), [_shown(c) for c in source], fontsize=8, family="monospace")
        rows = [_shown(c) for c in target] + ["</s>"] * (len(w) - len(target))
        ax.set_yticks(range(len(rows)), rows, fontsize=8, family="monospace")
        ax.tick_params(length=0)
        ax.set_xlabel(f"source: {source}", fontsize=8)
        ax.set_ylabel("output", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_attention(source: str, target: str, weights: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Save a heat map of ``weights`` (len(target), len(source)): the attention while writing
    ``target`` from ``source``. Needs matplotlib (``pip install matplotlib``). Returns the path."""
    _check(-1, source, target, weights)
    return plot_attentions([(source, target, weights)], path, title=title)


__all__ = ["plot_attention", "plot_attentions"]

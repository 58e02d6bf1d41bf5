"""Pictures of what an LSTM does inside: gate and cell-state heat maps over time, attributions per
step, the spread of forget-gate memory lengths, gate saturation per unit, and learning curves.

Why these: a trace (``lstmkit.explain.trace``) holds (B, T, units) arrays per quantity, far too
many numbers to read; a heat map of one sequence — units down, time across, the input aligned on
top — shows at a glance which units open their input gate at a marker, hold their cell state
across a lag, and forget at a reset. The other plots summarise the analysis of a whole layer
(``lstmkit.explain.analysis``) and of its training.

Every function draws one figure and saves it to ``path``: PNG or SVG, chosen by the suffix
(``.png`` / ``.svg``); the parent folder is created when missing. It returns the saved ``Path``.
Figures are built on ``matplotlib.figure.Figure`` directly, never through ``pyplot``: nothing is
registered globally, so no figure is left open, no backend is switched (a notebook's stays as it
was) and no display is needed. Bad arguments raise ``ValueError`` naming the argument, what was
expected and what came; arguments of the wrong kind (a ``Trace`` for a ``LayerTrace``) raise
``TypeError``.

Colours: gates (in [0, 1]) use a sequential map fixed to 0..1, so panels and figures compare;
cell input, cell state and hidden state a diverging map symmetric around 0 (blue below, red
above); attributions the same signed colours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .trace import GATES, QUANTITIES, LayerTrace

if TYPE_CHECKING:                                                   # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: What ``plot_trace`` draws unless told otherwise; quantities a layer lacks (the 1997 cell's
#: forget gate) are skipped from this default, but not from a caller's own choice.
DEFAULT_QUANTITIES: tuple[str, ...] = ("input", "forget", "output", "cell")

FORMATS = (".png", ".svg")
WIDTH = 10.0                                                        # inches, every figure
DPI = 110                                                           # PNG: 1100 pixels wide
GATE_CMAP = "viridis"
SIGNED_CMAP = "RdBu_r"
POSITIVE, NEGATIVE = "#c0392b", "#2e6db4"                           # the ends of RdBu_r, for bars
MAX_INPUT_LINES = 8                                                 # more input features: a heat map

_LABELS = {
    "input": ("input gate", "i"),
    "forget": ("forget gate", "f"),
    "output": ("output gate", "o"),
    "cell_input": ("cell input", "g"),
    "cell": ("cell state", "c"),
    "hidden": ("hidden state", "h"),
}
_GATE_COLOURS = {"input": "tab:blue", "forget": "tab:orange", "output": "tab:green"}


# --------------------------------------------------------------------------------------------- helpers

def _figure(height: float) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as e:                                        # pragma: no cover - depends on the install
        raise ImportError("lstmkit.explain plots need matplotlib: pip install 'lstmkit[plot]' (or matplotlib)") from e
    return Figure(figsize=(WIDTH, height), layout="constrained")


def _check_path(path: str | Path) -> Path:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path ending in .png or .svg, got {type(path).__name__}")
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise ValueError(f"path must end in .png or .svg (the suffix picks the format), got {str(path)!r}")
    return p


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix.lower()[1:], dpi=DPI)
    fig.clear()                                                     # drop the artists now, not at collection
    return path


def _array(value: Any, name: str, *, ndim: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array with one of the ``ndim`` dimensions and at least one element."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a numeric array, got {type(value).__name__} ({e})") from None
    if a.ndim not in ndim:
        want = " or ".join(f"{n}-D" for n in ndim)
        raise ValueError(f"{name} must be {want}, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    return a


def _symmetric_limit(*arrays: np.ndarray) -> float:
    """max |value| over the finite values (1 where there is none or all are 0)."""
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    top = max((float(f.max()) for f in finite if f.size), default=0.0)
    return top if top > 0 else 1.0


def _finite_range(a: np.ndarray) -> tuple[float, float]:
    f = a[np.isfinite(a)]
    if not f.size:
        return 0.0, 1.0
    lo, hi = float(f.min()), float(f.max())
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


def _check_tokens(tokens: Any, steps: int, padded: int | None = None) -> list[str]:
    if isinstance(tokens, np.ndarray) and tokens.ndim == 1:
        tokens = tokens.tolist()
    if isinstance(tokens, str) or not isinstance(tokens, Sequence):
        raise ValueError(f"tokens must be a list of str, one per step, got {type(tokens).__name__}")
    if len(tokens) not in (steps, padded):
        also = f" (or {padded}, the padded width)" if padded not in (None, steps) else ""
        raise ValueError(f"tokens must have one entry per step: {steps}{also}, got {len(tokens)}")
    return [str(t) for t in tokens[:steps]]


def _check_inputs(inputs: Any, input_names: Any, steps: int, padded: int | None = None,
                  what: str = "that sequence") -> tuple[np.ndarray, list[str]]:
    """(steps, I) inputs of the real steps and I feature names."""
    x = _array(inputs, "inputs", ndim=(1, 2, 3))
    if x.ndim == 3:
        raise ValueError(f"inputs must be the (T, I) input of {what}, not the whole batch: got shape {x.shape} "
                         f"(pass trace.inputs[sequence])")
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] not in (steps, padded):
        also = f" (or {padded}, the padded width)" if padded not in (None, steps) else ""
        raise ValueError(f"inputs must have {steps} steps{also} on its first axis, like {what}, got shape {x.shape}")
    x = x[:steps]
    features = x.shape[1]
    if input_names is None:
        names = [f"x{k}" for k in range(features)] if features > 1 else ["input"]
    else:
        if isinstance(input_names, str) or not isinstance(input_names, Sequence):
            raise ValueError(f"input_names must be a list of str, one per input feature, "
                             f"got {type(input_names).__name__}")
        if len(input_names) != features:
            raise ValueError(f"input_names must name each of the {features} input features, got {len(input_names)}")
        names = [str(n) for n in input_names]
    return x, names


def _time_axis(ax: Axes, steps: int, tokens: list[str] | None, *, top: Axes | None = None) -> None:
    """Integer steps (or the tokens) on the bottom axis, shared by every panel above; with tokens
    the top panel ``top`` shows them again above it."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlim(-0.5, steps - 0.5)
    if tokens is None:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
        ax.set_xlabel("time step")
        return
    every = max(1, math.ceil(steps / 80))                           # past 80 labels: every k-th
    where = list(range(0, steps, every))
    widest = max(len(tokens[k]) for k in where)
    long = len(where) * (widest + 1.5) > 110 or len(where) > 40     # horizontal labels would collide
    size = 9 if len(where) <= 40 else 7
    ax.set_xticks(where, [tokens[k] for k in where], rotation=90 if long else 0, fontsize=size)
    ax.set_xlabel("token" if every == 1 else f"token (every {every}th shown)")
    if top is not None and top is not ax:
        top.tick_params(axis="x", labeltop=True, labelrotation=90 if long else 0, labelsize=size)


def _input_panel(ax: Axes, cax: Axes, x: np.ndarray, names: list[str]) -> None:
    """Inputs over time: a line per feature (a heat map past ``MAX_INPUT_LINES`` features)."""
    steps, features = x.shape
    ax.set_label("inputs")
    if features <= MAX_INPUT_LINES:
        cax.axis("off")
        t = np.arange(steps)
        style = {"marker": "o", "ms": 3} if steps <= 60 else {}
        for k in range(features):
            ax.plot(t, x[:, k], lw=1.3, label=names[k], **style)
        lo, hi = _finite_range(x)
        pad = 0.08 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_ylabel("value")
        if features > 1 or names != ["input"]:
            ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=min(features, 4), fontsize=8, frameon=False,
                      borderaxespad=0.2)
    else:
        lo, hi = _finite_range(x)
        im = ax.imshow(x.T, aspect="auto", interpolation="nearest", cmap="cividis", vmin=lo, vmax=hi,
                       extent=(-0.5, steps - 0.5, features - 0.5, -0.5))
        _row_ticks(ax, names)
        ax.set_ylabel("feature")
        cax.figure.colorbar(im, cax=cax).ax.tick_params(labelsize=8)
    ax.set_title("input", loc="left", fontsize=10)


def _row_ticks(ax: Axes, labels: Sequence[Any], most: int = 16) -> None:
    every = max(1, math.ceil(len(labels) / most))
    rows = list(range(0, len(labels), every))
    ax.set_yticks(rows, [str(labels[r]) for r in rows], fontsize=8)


def _panel_height(rows: int) -> float:
    return float(min(4.0, max(1.1, 0.22 * rows + 0.5)))


# --------------------------------------------------------------------------------------------- trace

def _check_quantities(lt: LayerTrace, quantities: Any) -> list[str]:
    default = quantities is DEFAULT_QUANTITIES
    if isinstance(quantities, str):
        quantities = (quantities,)
    if not isinstance(quantities, Sequence) or not quantities:
        raise ValueError(f"quantities must be a non-empty sequence of names from {', '.join(QUANTITIES)}, "
                         f"got {quantities!r}")
    chosen = []
    for q in quantities:
        if q not in QUANTITIES:
            raise ValueError(f"quantities: {q!r} is no traced quantity; expected names from {', '.join(QUANTITIES)}")
        if q not in lt.values:
            if default:
                continue
            raise ValueError(f"quantities asks for {q!r}, which {lt.name} (cell {lt.cell!r}) does not have; "
                             f"it has: {', '.join(lt.values)}")
        if q not in chosen:
            chosen.append(q)
    return chosen


def _check_units(units: Any, total: int) -> np.ndarray:
    if units is None:
        return np.arange(total)
    try:
        u = np.asarray(list(units) if not isinstance(units, np.ndarray) else units)
    except TypeError:
        raise ValueError(f"units must be a sequence of unit indices, got {type(units).__name__}") from None
    if u.ndim != 1 or u.size == 0 or u.dtype == bool or not np.issubdtype(u.dtype, np.integer):
        raise ValueError(f"units must be a non-empty 1-D sequence of int unit indices, got {units!r}")
    bad = u[(u < 0) | (u >= total)]
    if bad.size:
        raise ValueError(f"units must be in 0..{total - 1} (the layer has {total} units), got {bad.tolist()}")
    return u


def _trace_figure(layer_trace: LayerTrace, *, sequence: int = 0, inputs: Any = None, input_names: Any = None,
                  tokens: Any = None, quantities: Any = DEFAULT_QUANTITIES, units: Any = None,
                  title: str | None = None) -> Figure:
    """The figure ``plot_trace`` saves. Heat-map axes carry the label ``"heatmap:<quantity>"`` and
    hold one image of shape (units shown, real steps); the input panel is labelled ``"inputs"``."""
    if not isinstance(layer_trace, LayerTrace):
        hint = " (pick one with trace.layer(k, direction))" if hasattr(layer_trace, "layers") else ""
        raise TypeError(f"layer_trace must be a LayerTrace{hint}, got {type(layer_trace).__name__}")
    batch, padded = layer_trace.values["cell"].shape[:2]
    if isinstance(sequence, bool) or not isinstance(sequence, (int, np.integer)):
        raise ValueError(f"sequence must be an int index in 0..{batch - 1}, got {sequence!r}")
    if not 0 <= sequence < batch:
        raise ValueError(f"sequence must be in 0..{batch - 1} (the trace holds {batch} sequences), got {sequence}")
    steps = int(layer_trace.lengths[sequence])
    if steps <= 0:
        raise ValueError(f"sequence {sequence} has no real steps (its length is {steps}); nothing to draw")
    chosen = _check_quantities(layer_trace, quantities)
    rows = _check_units(units, layer_trace.units)
    x, names = (None, []) if inputs is None else _check_inputs(inputs, input_names, steps, padded)
    if inputs is None and input_names is not None:
        raise ValueError("input_names names the features of inputs, but no inputs were given")
    labels = None if tokens is None else _check_tokens(tokens, steps, padded)

    heights = ([1.7] if x is not None else []) + [_panel_height(len(rows))] * len(chosen)
    fig = _figure(sum(heights) + 0.9 + (0.6 if labels else 0.0))
    grid = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[1.0, 0.018])
    first: Axes | None = None
    axes: list[Axes] = []
    if x is not None:
        first = fig.add_subplot(grid[0, 0])
        _input_panel(first, fig.add_subplot(grid[0, 1]), x, names)
        axes.append(first)
    for k, q in enumerate(chosen, start=len(heights) - len(chosen)):
        ax = fig.add_subplot(grid[k, 0], sharex=first)
        first = first or ax
        values = layer_trace.values[q][sequence, :steps][:, rows].T           # (units shown, steps)
        if q in GATES:
            style = {"cmap": GATE_CMAP, "vmin": 0.0, "vmax": 1.0}
        else:
            top = _symmetric_limit(values)
            style = {"cmap": SIGNED_CMAP, "vmin": -top, "vmax": top}
        im = ax.imshow(values, aspect="auto", interpolation="nearest",
                       extent=(-0.5, steps - 0.5, len(rows) - 0.5, -0.5), **style)
        ax.set_label(f"heatmap:{q}")
        name, symbol = _LABELS[q]
        ax.set_title(f"{name} {symbol}", loc="left", fontsize=10)
        ax.set_ylabel("unit")
        _row_ticks(ax, rows.tolist())
        bar = fig.colorbar(im, cax=fig.add_subplot(grid[k, 1]))
        bar.set_label(symbol, rotation=0, labelpad=8)
        bar.ax.tick_params(labelsize=8)
        axes.append(ax)
    for ax in axes[:-1]:
        ax.tick_params(axis="x", labelbottom=False)
    _time_axis(axes[-1], steps, labels, top=axes[0])
    shown = "" if units is None else f", units {_unit_list(rows)}"
    fig.suptitle(title if title is not None else
                 f"{layer_trace.name} ({layer_trace.cell} cell), sequence {sequence}: {steps} steps{shown}",
                 fontsize=12)
    return fig


def _unit_list(rows: np.ndarray) -> str:
    text = ", ".join(str(int(r)) for r in rows[:12])
    return text + (f", … ({len(rows)} in all)" if len(rows) > 12 else "")


def plot_trace(layer_trace: LayerTrace, path: str | Path, *, sequence: int = 0, inputs: Any = None,
               input_names: Sequence[str] | None = None, tokens: Sequence[str] | None = None,
               quantities: Sequence[str] = DEFAULT_QUANTITIES, units: Sequence[int] | None = None,
               title: str | None = None) -> Path:
    """Heat maps of one sequence of ``layer_trace`` over its real steps: a panel per quantity
    (units down, time steps across, a shared time axis), the input aligned above.

    ``sequence``: which sequence of the batch; ``inputs``: its (T, I) (or (T,)) input, T its
    length or the padded width (e.g. ``trace.inputs[sequence]``), a line per feature named by
    ``input_names`` (a heat map past 8 features); ``tokens``: one str per step, shown as the time
    axis' labels (for text models); ``quantities``: names from ``QUANTITIES`` — from the default,
    those the layer lacks (the 1997 cell's forget gate) are left out, an explicit choice of one is
    an error; ``units``: the unit indices to show (all by default). Returns the saved path."""
    out = _check_path(path)
    fig = _trace_figure(layer_trace, sequence=sequence, inputs=inputs, input_names=input_names, tokens=tokens,
                        quantities=quantities, units=units, title=title)
    return _save(fig, out)


# --------------------------------------------------------------------------------------------- attribution

def _signed_bars(ax: Axes, values: np.ndarray) -> None:
    t = np.arange(len(values))
    ax.bar(t, values, width=0.8 if len(values) <= 200 else 1.0, color=np.where(values >= 0, POSITIVE, NEGATIVE),
           linewidth=0)
    ax.axhline(0.0, color="0.3", lw=0.8)
    top = 1.08 * _symmetric_limit(values)
    low, high = (-top if (values < 0).any() else 0.0), (top if (values > 0).any() else 0.0)
    ax.set_ylim((low, high) if low < high else (-top, top))
    ax.grid(True, axis="y", alpha=0.3)


def _attribution_figure(attribution: Any, *, inputs: Any = None, input_names: Any = None, tokens: Any = None,
                        title: str | None = None) -> Figure:
    a = _array(attribution, "attribution", ndim=(1, 2))
    if not np.isfinite(a).all():
        raise ValueError("attribution must be finite at every step: give the sequence's real steps only "
                         "(attribution[:length]), without NaN padding")
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    steps = a.shape[0]
    x, names = (None, []) if inputs is None else _check_inputs(inputs, input_names, steps, what="attribution")
    if a.ndim == 2:
        features = a.shape[1]
        if x is not None and x.shape[1] != features:
            raise ValueError(f"inputs has {x.shape[1]} features but attribution has {features} (shape {a.shape})")
        if x is None:
            if input_names is not None and (isinstance(input_names, str) or len(input_names) != features):
                raise ValueError(f"input_names must name each of the {features} attributed features, "
                                 f"got {input_names!r}")
            names = [str(n) for n in input_names] if input_names is not None else [f"x{k}" for k in range(features)]
    elif x is None and input_names is not None:
        raise ValueError("input_names names input features, but attribution is per step (1-D) and no inputs were given")
    labels = None if tokens is None else _check_tokens(tokens, steps)

    heights = ([1.7] if x is not None else []) + ([_panel_height(a.shape[1])] if a.ndim == 2 else []) + [2.2]
    fig = _figure(sum(heights) + 0.9 + (0.6 if labels else 0.0))
    grid = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[1.0, 0.018])
    axes: list[Axes] = []
    row = 0
    if x is not None:
        axes.append(fig.add_subplot(grid[row, 0]))
        _input_panel(axes[-1], fig.add_subplot(grid[row, 1]), x, names)
        row += 1
    if a.ndim == 2:
        ax = fig.add_subplot(grid[row, 0], sharex=axes[0] if axes else None)
        top = _symmetric_limit(a)
        im = ax.imshow(a.T, aspect="auto", interpolation="nearest", cmap=SIGNED_CMAP, vmin=-top, vmax=top,
                       extent=(-0.5, steps - 0.5, a.shape[1] - 0.5, -0.5))
        ax.set_label("heatmap:attribution")
        _row_ticks(ax, names)
        ax.set_ylabel("feature")
        ax.set_title("attribution per feature", loc="left", fontsize=10)
        fig.colorbar(im, cax=fig.add_subplot(grid[row, 1])).ax.tick_params(labelsize=8)
        axes.append(ax)
        row += 1
    ax = fig.add_subplot(grid[row, 0], sharex=axes[0] if axes else None)
    fig.add_subplot(grid[row, 1]).axis("off")
    total = a.sum(axis=1) if a.ndim == 2 else a
    _signed_bars(ax, total)
    ax.set_label("bars:attribution")
    ax.set_ylabel("attribution")
    ax.set_title("total attribution per step" if a.ndim == 2 else "attribution per step", loc="left", fontsize=10)
    axes.append(ax)
    for other in axes[:-1]:
        other.tick_params(axis="x", labelbottom=False)
    _time_axis(ax, steps, labels, top=axes[0])
    fig.suptitle(title if title is not None else f"attribution over {steps} steps (sum {total.sum():+.3g})",
                 fontsize=12)
    return fig


def plot_attribution(attribution: Any, path: str | Path, *, inputs: Any = None,
                     input_names: Sequence[str] | None = None, tokens: Sequence[str] | None = None,
                     title: str | None = None) -> Path:
    """Attribution over time: ``attribution`` (T,) per step, or (T, I) per step and input feature
    (then a signed heat map per feature and the per-step total below it); bars red for positive,
    blue for negative; ``inputs`` (T, I) / (T,) drawn above, ``tokens`` as the time axis' labels.
    Give the real steps only (no NaN). Returns the saved path."""
    out = _check_path(path)
    return _save(_attribution_figure(attribution, inputs=inputs, input_names=input_names, tokens=tokens, title=title),
                 out)


# --------------------------------------------------------------------------------------------- time scales

def _timescales_figure(half_lives: Any, *, title: str | None = None) -> Figure:
    """The figure ``plot_timescales`` saves: axes labelled ``"histogram"`` (finite half-lives, one
    bar patch per bin) and ``"infinite"`` (one bar: the units that never decay), each where needed."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    h = _array(half_lives, "half_lives", ndim=(1,))
    if np.isnan(h).any() or (h < 0).any():
        bad = h[np.isnan(h) | (h < 0)]
        raise ValueError(f"half_lives must be >= 0 steps (np.inf for no decay), got {bad[:5].tolist()}")
    infinite = int(np.isinf(h).sum())
    finite = h[np.isfinite(h)]
    fig = _figure(4.2)
    fig.suptitle(title if title is not None else f"memory time scales of {h.size} units", fontsize=12)
    if not finite.size:                                             # e.g. the 1997 cell: no forget gate at all
        ax = fig.add_subplot()
        ax.set_label("infinite")
        ax.bar([0], [infinite], width=0.5, color="tab:purple")
        ax.text(0, infinite, f"{infinite}", ha="center", va="bottom", fontsize=10)
        ax.set_xlim(-1.5, 1.5)
        ax.set_ylim(0, infinite * 1.5)                              # room for the note above the bar
        ax.set_xticks([0], ["∞"], fontsize=14)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("units")
        ax.set_xlabel("forget-gate half-life (steps)")
        ax.text(0.02, 0.95, f"all {infinite} units never decay: no finite half-life\n(a cell without forget gate, "
                "as the 1997 one, keeps its content)", transform=ax.transAxes, ha="left", va="top", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7"})
        return fig
    grid = fig.add_gridspec(1, 2, width_ratios=[1.0, 0.09]) if infinite else fig.add_gridspec(1, 1)
    ax = fig.add_subplot(grid[0, 0])
    ax.set_label("histogram")
    note = []
    positive = finite[finite > 0]
    if positive.size and positive.max() / positive.min() > 100.0:  # more than two decades: log steps
        lo, hi = float(positive.min()), float(positive.max())
        bins = min(48, max(10, math.ceil(6 * math.log10(hi / lo))))
        edges = np.geomspace(lo, hi, bins + 1)
        counts, _ = np.histogram(np.clip(finite, lo, hi), bins=edges)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        zeros = int((finite == 0).sum())
        if zeros:
            note.append(f"{zeros} at 0 steps counted in the first bar")
    else:
        lo, hi = float(finite.min()), float(finite.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.histogram_bin_edges(finite, bins=min(40, max(6, math.ceil(2 * math.sqrt(finite.size)))),
                                       range=(lo, hi))
        counts, _ = np.histogram(finite, bins=edges)
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="tab:blue", edgecolor="white", linewidth=0.8)
    median = float(np.median(finite))
    ax.axvline(max(median, edges[0]), color="k", ls="--", lw=1, label=f"median of the finite: {median:.3g} steps")
    ax.legend(loc="upper right", fontsize=9, frameon=False)
    top = max(counts.max(), infinite) * 1.15
    ax.set_ylim(0, top)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("forget-gate half-life (steps until half the cell content is left)")
    ax.set_ylabel("units")
    if infinite:
        inf_ax = fig.add_subplot(grid[0, 1], sharey=ax)
        inf_ax.set_label("infinite")
        inf_ax.bar([0], [infinite], width=0.6, color="tab:purple")
        inf_ax.text(0, infinite, f"{infinite}", ha="center", va="bottom", fontsize=9)
        inf_ax.set_xlim(-0.6, 0.6)
        inf_ax.set_xticks([0], ["∞"], fontsize=14)
        inf_ax.tick_params(axis="y", labelleft=False)
        inf_ax.set_xlabel("no decay")
        note.insert(0, f"{infinite} of {h.size} units never decay (∞)")
    if note:
        ax.text(0.01, 0.97, "\n".join(note), transform=ax.transAxes, ha="left", va="top", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7"})
    return fig


def plot_timescales(half_lives: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Histogram of per-unit forget-gate half-lives in steps (``analysis.memory(lt).half_life``):
    ``np.inf`` (no decay, e.g. every unit of the 1997 cell) is counted in its own "∞" bar; the x
    axis is logarithmic when the finite half-lives span more than two decades. Returns the saved path."""
    out = _check_path(path)
    return _save(_timescales_figure(half_lives, title=title), out)


# --------------------------------------------------------------------------------------------- learning curve

def _curve(name_x: str, xs: Any, name_y: str, ys: Any) -> tuple[np.ndarray, np.ndarray]:
    x = _array(xs, name_x, ndim=(1,))
    y = _array(ys, name_y, ndim=(1,))
    if x.shape != y.shape:
        raise ValueError(f"{name_x} and {name_y} must have the same length, got {x.size} and {y.size}")
    if not np.isfinite(y).any():
        raise ValueError(f"{name_y} has no finite value to draw")
    return x, y


def _smooth(y: np.ndarray) -> np.ndarray | None:
    """A centred running mean over ~2% of the points (the window shrinks at the ends, no padding
    bias); None for short curves (< 100 points) or ones with gaps."""
    window = y.size // 50
    if window < 2 or not np.isfinite(y).all():
        return None
    total = np.concatenate([[0.0], np.cumsum(y)])
    i = np.arange(y.size)
    lo, hi = np.maximum(i - window // 2, 0), np.minimum(i + window - window // 2, y.size)
    return (total[hi] - total[lo]) / (hi - lo)


def _learning_curve_figure(steps: Any, losses: Any, *, val_steps: Any = None, val_losses: Any = None,
                           ylabel: str = "loss", logy: bool = True, title: str | None = None,
                           xlabel: str = "step") -> Figure:
    x, y = _curve("steps", steps, "losses", losses)
    if (val_steps is None) != (val_losses is None):
        raise ValueError("val_steps and val_losses go together: give both or neither, got only "
                         + ("val_steps" if val_losses is None else "val_losses"))
    vx, vy = (None, None) if val_steps is None else _curve("val_steps", val_steps, "val_losses", val_losses)
    if logy:
        for name, v in (("losses", y), ("val_losses", vy)):
            if v is not None and (v[np.isfinite(v)] <= 0).any():
                raise ValueError(f"logy=True needs positive {name}, got a minimum of {np.nanmin(v):.3g} "
                                 f"(pass logy=False)")
    fig = _figure(4.6)
    ax = fig.add_subplot()
    ax.set_label("curve")
    smooth = _smooth(y)
    if smooth is None:
        ax.plot(x, y, color="tab:blue", lw=1.4, label="training", marker="o" if x.size <= 30 else None, ms=3)
    else:
        ax.plot(x, y, color="tab:blue", lw=0.8, alpha=0.3)
        ax.plot(x, smooth, color="tab:blue", lw=1.6, label="training (running mean)")
    if vx is not None and vy is not None:
        ax.plot(vx, vy, color="tab:orange", lw=1.6, marker="o" if vx.size <= 60 else None, ms=3.5, label="validation")
        best = int(np.nanargmin(vy))
        ax.plot([vx[best]], [vy[best]], "*", color="tab:red", ms=12, zorder=5,
                label=f"best validation {vy[best]:.4g} at {vx[best]:g}")
    if logy:
        from matplotlib.ticker import FuncFormatter
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.grid(True, which="major", alpha=0.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper right", fontsize=9)
    fig.suptitle(title if title is not None else "learning curve", fontsize=12)
    return fig


def plot_learning_curve(steps: Any, losses: Any, path: str | Path, *, val_steps: Any = None, val_losses: Any = None,
                        ylabel: str = "loss", logy: bool = True, title: str | None = None,
                        xlabel: str = "step") -> Path:
    """Training loss ``losses`` at ``steps`` (1-D, same length; raw and, past 100 points, a running
    mean), and the validation curve ``val_losses`` at ``val_steps`` with its best point starred.
    NaN points are left as gaps; ``logy`` needs positive values. Returns the saved path."""
    out = _check_path(path)
    return _save(_learning_curve_figure(steps, losses, val_steps=val_steps, val_losses=val_losses, ylabel=ylabel,
                                        logy=logy, title=title, xlabel=xlabel), out)


# --------------------------------------------------------------------------------------------- saturation

def _check_saturation(saturation: Any) -> tuple[dict[str, tuple[np.ndarray, np.ndarray | None]], int]:
    """{gate: (shut or saturated, open or None)} and the number of units."""
    if not isinstance(saturation, Mapping) or not saturation:
        raise ValueError(f"saturation must be a non-empty dict gate -> (units,) fractions, got {saturation!r}")
    parts: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    units = None
    for gate, value in saturation.items():
        if isinstance(value, Mapping):                              # analysis.saturation: shut / open / saturated
            if "shut" in value and "open" in value:
                pair = (_array(value["shut"], f"saturation[{gate!r}]['shut']", ndim=(1,)),
                        _array(value["open"], f"saturation[{gate!r}]['open']", ndim=(1,)))
            elif "saturated" in value:
                pair = (_array(value["saturated"], f"saturation[{gate!r}]['saturated']", ndim=(1,)), None)
            else:
                raise ValueError(f"saturation[{gate!r}] must hold 'shut' and 'open' (or 'saturated') fractions, "
                                 f"got keys {list(value)}")
        else:
            pair = (_array(value, f"saturation[{gate!r}]", ndim=(1,)), None)
        for part in pair:
            if part is None:
                continue
            if units is None:
                units = part.size
            if part.size != units:
                raise ValueError(f"saturation[{gate!r}] has {part.size} units, the other gates {units}")
            if not np.isfinite(part).all():
                raise ValueError(f"saturation[{gate!r}] must hold fractions in [0, 1], got a non-finite value")
            if (part < 0).any() or (part > 1).any():
                raise ValueError(f"saturation[{gate!r}] must hold fractions in [0, 1], got values from "
                                 f"{part.min():.3g} to {part.max():.3g}")
        parts[str(gate)] = pair
    assert units is not None
    return parts, units


def _saturation_figure(saturation: Any, *, title: str | None = None) -> Figure:
    from matplotlib.patches import Patch

    parts, units = _check_saturation(saturation)
    gates = list(parts)
    fig = _figure(4.4)
    ax = fig.add_subplot()
    ax.set_label("bars")
    group = 0.8
    width = group / len(gates)
    centre = np.arange(units)
    cycle = iter(["tab:purple", "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan", "tab:red"])
    handles = []
    split = any(o is not None for _, o in parts.values())
    for k, gate in enumerate(gates):
        colour = _GATE_COLOURS.get(gate) or next(cycle, "0.4")
        where = centre - group / 2 + (k + 0.5) * width
        first, second = parts[gate]
        ax.bar(where, first, width=width, color=colour, linewidth=0)
        if second is not None:
            ax.bar(where, second, width=width, bottom=first, color=colour, alpha=0.45, linewidth=0, hatch="//",
                   edgecolor="white")
        handles.append(Patch(color=colour, label=f"{gate} gate" if gate in _LABELS else gate))
    if split:
        handles += [Patch(facecolor="0.35", label="shut (solid)"),
                    Patch(facecolor="0.35", alpha=0.45, hatch="//", edgecolor="white", label="open (hatched)")]
    tallest = max(float((f + (0.0 if o is None else o)).max()) for f, o in parts.values())
    ax.set_ylim(0, min(1.0, max(0.1, 1.12 * tallest)))          # all of [0, 1] only when needed
    ax.set_xlim(-0.6, units - 0.4)
    ax.set_ylabel("fraction of steps saturated")
    ax.set_xlabel("unit")
    if units <= 40:
        ax.set_xticks(centre)
    else:
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=20))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(handles), fontsize=9,
              frameon=False, borderaxespad=0.2)
    fig.suptitle(title if title is not None else f"gate saturation of {units} units", fontsize=12)
    return fig


def plot_gate_saturation(saturation: Mapping[str, Any], path: str | Path, *, title: str | None = None) -> Path:
    """Per gate, the fraction of steps each unit's gate is saturated: grouped bars, units across.

    ``saturation``: ``{gate: (units,) fractions in [0, 1]}``, or what ``analysis.saturation``
    returns (``{gate: {"shut": ..., "open": ..., "saturated": ...}}``: then each bar stacks shut,
    solid, and open, hatched). Returns the saved path."""
    out = _check_path(path)
    return _save(_saturation_figure(saturation, title=title), out)


__all__ = ["DEFAULT_QUANTITIES", "plot_attribution", "plot_gate_saturation", "plot_learning_curve", "plot_timescales",
           "plot_trace"]

"""One call from a model and a batch to a report folder: trace, analyse, attribute, plot, write.

``explain_model(model, x, lengths, out_dir, ...)`` is what ``lstmkit explain`` runs: it traces every
LSTM layer, computes the memory figures and saturation of each unit, ranks the "units worth a
look" (those that jump at ``marked`` steps, whose final cell state tracks a numeric target, and
the longest memories), attributes each prediction to its inputs with integrated gradients (and
reads the attention weights where the model pools by attention), draws the plots and writes the
browsable HTML report (``lstmkit.explain.report``). ``explain_task("adding", ...)`` first trains
the small adding-problem network of ``lstmkit.explain.tasks``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from . import analysis, plots
from .attribution import attention_weights, integrated_gradients
from .report import write_report
from .trace import Trace, trace


@dataclass
class Explained:
    """What ``explain_model`` produced: the report's path, the trace, the per-layer analysis and
    the units worth a look (dicts of layer index, unit and the reason)."""

    index: Path
    trace: Trace
    data: dict[str, Any]
    highlights: list[dict[str, Any]]


def _finite_or_none(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _layer_stats(lt: Any, marked: np.ndarray | None, targets: np.ndarray | None) -> dict[str, np.ndarray]:
    mem = analysis.memory(lt)
    stats: dict[str, np.ndarray] = {"half_life": mem.half_life}
    if "forget" in lt.values:
        stats["forget_mean"] = mem.forget_mean
    for gate, s in analysis.saturation(lt).items():
        stats[f"{gate}_saturation"] = s["saturated"]
    if marked is not None and marked.any():
        stats["marker_jump"] = analysis.jump_ratio(lt, marked)
    if targets is not None and len(targets) > 2 and np.std(targets) > 0:
        stats["target_r"] = analysis.correlate(lt, targets)
    first = [k for k in ("marker_jump", "target_r", "half_life") if k in stats]      # the telling ones first
    return {k: stats[k] for k in first + [k for k in stats if k not in first]}


def _highlights(index: int, name: str, stats: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    out = []
    if "marker_jump" in stats:
        for u in analysis.top_units(stats["marker_jump"], 2, absolute=False):
            out.append({"layer": index, "unit": u, "score": float(stats["marker_jump"][u]),
                        "why": f"{name}: its cell state jumps at the marked inputs "
                               f"(|Δc| {stats['marker_jump'][u]:.1f}x larger there than elsewhere)"})
    if "target_r" in stats:
        u = analysis.top_units(stats["target_r"], 1)[0]
        out.append({"layer": index, "unit": u, "score": float(stats["target_r"][u]),
                    "why": f"{name}: its final cell state tracks the target (r = {stats['target_r'][u]:+.2f})"})
    hl = stats["half_life"]
    u = analysis.top_units(np.where(np.isinf(hl), 1e300, hl), 1, absolute=False)[0]
    life = "never decays" if np.isinf(hl[u]) else f"half-life {hl[u]:.1f} steps"
    out.append({"layer": index, "unit": u, "score": float(min(hl[u], 1e300)),
                "why": f"{name}: the longest memory ({life})"})
    return out


def _values(arr: np.ndarray, lengths: np.ndarray) -> list[list[list[float]]]:
    return [np.round(arr[b, :n], 4).tolist() for b, n in enumerate(lengths)]


def explain_model(model: nn.Module, x: Tensor, lengths: Tensor | None, out_dir: str | Path, *,
                  title: str = "LSTM explained", summary: dict[str, Any] | None = None,
                  targets: Sequence[Any] | None = None, predictions: Sequence[Any] | None = None,
                  input_names: Sequence[str] | None = None, tokens: Sequence[Sequence[str]] | None = None,
                  marked: np.ndarray | None = None, attribute: bool = True, target: Any = None,
                  learning_curve: dict[str, list[float]] | None = None, max_sequences: int = 8,
                  forward: Callable[..., Any] | None = None) -> Explained:
    """Trace ``model`` on the batch ``x`` (``lengths`` per sequence) and write the report to ``out_dir``.

    ``targets``/``predictions``: per sequence, shown beside each one (numeric targets are also
    correlated with the final cell states); ``input_names``: one per input feature; ``tokens``:
    per sequence, the token at each step (text models); ``marked`` (B, T) bool: steps of
    interest (e.g. the adding problem's markers); ``target``: the output column to attribute
    (see ``integrated_gradients``); ``learning_curve``: {"steps", "losses", optional "val_losses"}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    batch = int(x.shape[0])
    if batch > max_sequences:
        x = x[:max_sequences]
        lengths = None if lengths is None else lengths[:max_sequences]
        targets = None if targets is None else list(targets)[:max_sequences]
        predictions = None if predictions is None else list(predictions)[:max_sequences]
        tokens = None if tokens is None else list(tokens)[:max_sequences]
        marked = None if marked is None else marked[:max_sequences]
        batch = max_sequences
    tr = trace(model, x, lengths, forward=forward)
    lens = tr.lengths
    numeric_targets = None
    if targets is not None:
        try:
            numeric_targets = np.asarray(targets, dtype=np.float64)
        except (TypeError, ValueError):
            numeric_targets = None
    attribution = attention = None
    if attribute:
        attribution = integrated_gradients(model, x, lengths, target=target, forward=forward)
        try:
            attention = attention_weights(model, x, lengths, forward=forward)
        except ValueError:
            attention = None
    images: dict[str, Path] = {}
    layers, highlights = [], []
    inputs = tr.inputs
    numeric_inputs = inputs.ndim == 3 and np.issubdtype(inputs.dtype, np.floating)
    names = list(input_names) if input_names is not None else (
        [f"x{i}" for i in range(inputs.shape[2])] if numeric_inputs else [])
    for k, lt in enumerate(tr.layers):
        stats = _layer_stats(lt, marked, numeric_targets)
        highlights += _highlights(k, lt.name, stats)
        layers.append({"name": lt.name, "units": lt.units, "quantities": list(lt.values),
                       "values": {q: _values(v, lens) for q, v in lt.values.items()},
                       "unit_stats": {s: [_finite_or_none(float(v)) for v in vals] for s, vals in stats.items()}})
        slug = lt.name.replace(" ", "-").replace(".", "-")
        seq_tokens = None if tokens is None else list(tokens[0])[: lens[0]]
        images[f"{lt.name}: gates and cell state, sequence 0"] = plots.plot_trace(
            lt, out / f"trace-{slug}.png", sequence=0, inputs=inputs[0, : lens[0]] if numeric_inputs else None,
            input_names=names or None, tokens=seq_tokens, title=f"{lt.name}, sequence 0")
        if "forget" in lt.values:
            images[f"{lt.name}: forget-gate half-lives"] = plots.plot_timescales(
                stats["half_life"], out / f"timescales-{slug}.png", title=f"{lt.name}: memory half-life per unit")
        images[f"{lt.name}: gate saturation"] = plots.plot_gate_saturation(
            analysis.saturation(lt), out / f"saturation-{slug}.png", title=f"{lt.name}: fraction of steps each gate is shut or open")
    if attribution is not None:
        a0 = attribution.values[0, : lens[0]]
        images["integrated gradients, sequence 0"] = plots.plot_attribution(
            a0, out / "attribution.png", inputs=inputs[0, : lens[0]] if numeric_inputs else None,
            input_names=names or None, tokens=None if tokens is None else list(tokens[0])[: lens[0]],
            title="integrated gradients: what drove the prediction, sequence 0")
    if learning_curve is not None:
        images["learning curve"] = plots.plot_learning_curve(
            learning_curve["steps"], learning_curve["losses"], out / "learning-curve.png",
            val_steps=learning_curve["steps"] if learning_curve.get("val_losses") else None,
            val_losses=learning_curve.get("val_losses"), ylabel=learning_curve.get("ylabel", "loss"))
    sequences = []
    for b in range(batch):
        n = int(lens[b])
        sequences.append({
            "name": f"sequence {b}", "length": n,
            "inputs": np.round(inputs[b, :n], 4).tolist() if numeric_inputs else [],
            "input_names": names,
            "tokens": None if tokens is None else [str(t) for t in list(tokens[b])[:n]],
            "target": None if targets is None else _label(list(targets)[b]),
            "prediction": None if predictions is None else _label(list(predictions)[b]),
            "attribution": None if attribution is None else np.round(attribution.per_step[b, :n], 5).tolist(),
            "attention": None if attention is None else np.round(attention[b, :n], 5).tolist(),
        })
    params = sum(p.numel() for p in model.parameters())
    info = {"model": type(model).__name__, "parameters": params,
            "LSTM layers traced": ", ".join(lt.name for lt in tr.layers),
            "cell": ", ".join(sorted({lt.cell for lt in tr.layers}))}
    info.update(summary or {})
    data = {"title": title, "summary": {k: _label(v) for k, v in info.items()}, "sequences": sequences,
            "layers": layers, "highlights": [{k: h[k] for k in ("layer", "unit", "why")} for h in highlights]}
    index = write_report(data, out, images)
    return Explained(index, tr, data, highlights)


def _label(v: Any) -> Any:
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, Tensor):
        v = v.item()
    if isinstance(v, float):
        return round(v, 5) if math.isfinite(v) else None
    return v if isinstance(v, (int, str, bool)) or v is None else str(v)


def explain_task(task: str, out_dir: str | Path, *, T: int = 20, hidden: int = 8, steps: int = 2000,
                 seed: int = 0, sequences: int = 8, progress: Callable[[int, float], None] | None = None,
                 save: str | Path | None = None) -> Explained:
    """Train the small network of ``task`` (``lstmkit.explain.tasks``), then explain it on
    ``sequences`` fresh test sequences. ``save``: also write the trained model there (a
    ``LastStep`` checkpoint that ``lstmkit explain CHECKPOINT`` reads back)."""
    from .tasks import TASKS, explain_inputs, train_adding
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}")
    trained = train_adding(T, hidden=hidden, steps=steps, seed=seed, progress=progress)
    if save is not None:
        save_task_model(trained.model, task, T, save)
    x, lengths, y, marked = explain_inputs(T, sequences, seed=seed + 7)
    with torch.no_grad():
        pred = trained.model(x, lengths)[:, 0]
    summary = {"task": f"adding problem (1997 paper, Exp. 4), minimal length T = {T}",
               "training": f"{steps} Adam updates of batch 64 in {trained.seconds:.1f} s, seed {seed}",
               "test MSE (1000 fresh sequences)": round(trained.test_mse, 6),
               "test right (|error| < 0.04, the paper's criterion)": f"{100 * trained.test_right:.1f}%"}
    return explain_model(trained.model, x, lengths, out_dir, title="Inside an LSTM that learned the adding problem",
                         summary=summary, targets=y.tolist(), predictions=pred.tolist(),
                         input_names=["value", "marker"], marked=marked,
                         learning_curve={"steps": trained.steps, "losses": trained.losses,
                                         "val_losses": trained.val_losses, "ylabel": "MSE"})


def save_task_model(model: nn.Module, task: str, T: int, path: str | Path) -> Path:
    """Write a trained task network as a ``LastStep`` checkpoint (safetensors + JSON, atomic)."""
    from ..train.checkpoint import Checkpoint, save
    save(path, Checkpoint({"model": dict(model.state_dict())}, {"compare": {"task": task, **model.sizes},
                                                               "explain": {"task": task, "T": T}}))
    return Path(path)


__all__ = ["Explained", "explain_model", "explain_task", "save_task_model"]

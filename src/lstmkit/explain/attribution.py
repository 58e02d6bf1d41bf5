"""Which inputs and time steps drove a prediction: integrated gradients and gradient × input
(Captum, the established implementation), and attention weights where the model has attention.

``integrated_gradients(model, x, lengths)`` (Sundararajan et al. 2017) integrates the gradient
along the straight path from a baseline (zeros by default) to ``x``; its attributions sum to
f(x) − f(baseline) (completeness; ``Attribution.delta`` is the remaining gap, Captum's
convergence delta). ``gradient_x_input`` is the one-step version, ∂f/∂x · x. For a model whose
input is token ids (a text classifier), the attribution is taken at the output of its first
``nn.Embedding`` (Captum's layer variant) against the padding token's embedding, and summed over
the embedding's features: one number per token.

f is one number per sequence: the model's output at ``target`` (a class index, or a list of one
per sequence), the predicted class when the output has several columns and no target is given.
Padded steps get zero attribution (the model never reads them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from ..layer import LSTM


@dataclass
class Attribution:
    """values (B, T, I) numpy (B, T) for token inputs; per_step (B, T) the sum over features;
    delta (B,) f(x) − f(baseline) − sum of the attributions (None for gradient × input);
    target the output column attributed, per sequence; method its name."""

    values: np.ndarray
    per_step: np.ndarray
    delta: np.ndarray | None
    target: list[int] | None
    method: str


def _captum() -> Any:
    try:
        import captum.attr
    except ImportError as e:                                        # pragma: no cover - depends on the install
        raise ImportError("attributions need Captum: pip install captum (or 'lstmkit[explain]')") from e
    return captum.attr


def _scalar_forward(model: nn.Module, forward: Callable[..., Any] | None) -> Callable[..., Tensor]:
    """A function (x, lengths) -> (B,) or (B, K) tensor from the model's forward."""
    if forward is None:
        if isinstance(model, (LSTM, nn.LSTM)):
            raise ValueError("an LSTM layer alone has no single prediction to attribute: pass a model with a head, "
                             "or forward=lambda m, x, n: ... returning (B,) or (B, K)")
        forward = lambda m, x, n: m(x) if n is None else m(x, n)          # noqa: E731

    def f(x: Tensor, lengths: Tensor | None = None) -> Tensor:
        out = forward(model, x, lengths)
        if isinstance(out, tuple):                                         # e.g. (output, state)
            out = out[0]
        if not isinstance(out, Tensor) or out.dim() not in (1, 2):
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"the model must return (B,) or (B, K) per sequence to be attributed, got {shape}; "
                             "pass forward= to pick one number per sequence")
        return out
    return f


def _targets(f: Callable[..., Tensor], x: Tensor, lengths: Tensor | None, target: Any) -> list[int] | None:
    with torch.no_grad():
        out = f(x, lengths)
    if out.dim() == 1:
        if target not in (None, 0):
            raise ValueError(f"the model has one output per sequence, so target must be None or 0, got {target!r}")
        return None
    k = out.shape[1]
    if target is None:
        return [int(i) for i in out.argmax(dim=1)]
    picks = [int(target)] * len(x) if isinstance(target, (int, np.integer)) else [int(t) for t in target]
    if len(picks) != len(x):
        raise ValueError(f"target must be an int or one per sequence ({len(x)}), got {len(picks)}")
    bad = [t for t in picks if not 0 <= t < k]
    if bad:
        raise ValueError(f"target must be an output column in 0..{k - 1}, got {bad[0]}")
    return picks


def _embedding(model: nn.Module) -> nn.Embedding:
    for m in model.modules():
        if isinstance(m, nn.Embedding):
            return m
    raise ValueError("x holds integer ids but the model has no nn.Embedding to attribute through")


def _check(x: Any, lengths: Any) -> tuple[Tensor, Tensor | None]:
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a tensor (B, T, I) or (B, T) of token ids, got {type(x).__name__}")
    if x.dim() not in (2, 3) or x.numel() == 0:
        raise ValueError(f"x must be (B, T, I) features or (B, T) token ids, got shape {tuple(x.shape)}")
    if lengths is not None:
        lengths = torch.as_tensor(lengths)
        if lengths.shape != (x.shape[0],):
            raise ValueError(f"lengths must be (B,) = ({x.shape[0]},), got shape {tuple(lengths.shape)}")
    return x, lengths


def _finish(a: Tensor, x: Tensor, lengths: Tensor | None, delta: Tensor | None, target: list[int] | None,
            method: str) -> Attribution:
    a = a.detach().to(torch.float64)
    if x.dim() == 2 or (not x.is_floating_point()):                        # token ids: sum the embedding features
        a = a.sum(-1)
    values = a.numpy()
    per_step = values if values.ndim == 2 else values.sum(-1)
    if lengths is not None:                                                # the model never reads the padding
        pad = np.arange(per_step.shape[1])[None, :] >= lengths.numpy()[:, None]
        per_step = np.where(pad, 0.0, per_step)
    return Attribution(values, per_step, None if delta is None else delta.detach().double().numpy(), target, method)


def integrated_gradients(model: nn.Module, x: Tensor, lengths: Any = None, *, target: Any = None,
                         baseline: Tensor | None = None, steps: int = 64,
                         forward: Callable[..., Any] | None = None) -> Attribution:
    """Integrated gradients of each sequence's prediction (see the module docstring).
    ``baseline``: same shape as ``x`` (zeros; for token ids, the padding id 0); ``steps``: points
    of the Gauss–Legendre path integral."""
    attr = _captum()
    x, lengths = _check(x, lengths)
    f = _scalar_forward(model, forward)
    target_ = _targets(f, x, lengths, target)
    extra = None if lengths is None else (lengths,)
    ig = attr.IntegratedGradients(f) if x.is_floating_point() else attr.LayerIntegratedGradients(f, _embedding(model))
    base = torch.zeros_like(x) if baseline is None else baseline
    if base.shape != x.shape:
        raise ValueError(f"baseline must have x's shape {tuple(x.shape)}, got {tuple(base.shape)}")
    a, delta = ig.attribute(x, baselines=base, target=target_, additional_forward_args=extra, n_steps=steps,
                            return_convergence_delta=True)
    return _finish(a, x, lengths, delta, target_, "integrated gradients")


def gradient_x_input(model: nn.Module, x: Tensor, lengths: Any = None, *, target: Any = None,
                     forward: Callable[..., Any] | None = None) -> Attribution:
    """∂f/∂x · x for each sequence's prediction (for token ids: at the embedding's output)."""
    attr = _captum()
    x, lengths = _check(x, lengths)
    f = _scalar_forward(model, forward)
    target_ = _targets(f, x, lengths, target)
    extra = None if lengths is None else (lengths,)
    if x.is_floating_point():
        a = attr.InputXGradient(f).attribute(x.clone().requires_grad_(True), target=target_,
                                             additional_forward_args=extra)
    else:
        a = attr.LayerGradientXActivation(f, _embedding(model)).attribute(x, target=target_,
                                                                           additional_forward_args=extra)
    return _finish(a, x, lengths, None, target_, "gradient x input")


def attention_weights(model: nn.Module, x: Tensor, lengths: Any = None, *,
                      forward: Callable[..., Any] | None = None) -> np.ndarray:
    """(B, T) the weights of the model's attention pooling (``lstmkit.models.pooling.AttentionPool``)
    for each sequence, 0 at padding: recorded while the model runs on ``x``."""
    from ..models.pooling import AttentionPool
    pools = [m for m in model.modules() if isinstance(m, AttentionPool)]
    if not pools:
        raise ValueError("the model has no attention pooling (lstmkit.models.pooling.AttentionPool) to read")
    seen: list[Tensor] = []

    def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        seen.append(module.weights(*args).detach())

    handle = pools[0].register_forward_hook(hook)
    try:
        with torch.no_grad():
            _scalar_forward(model, forward)(*_check(x, lengths))
    finally:
        handle.remove()
    return seen[0].double().numpy()


__all__ = ["Attribution", "attention_weights", "gradient_x_input", "integrated_gradients"]

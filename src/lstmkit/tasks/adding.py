"""The 1997 paper's adding (Exp. 4) and multiplication (Exp. 5) problems: sequence generators.

Each step is a pair (value, marker). Following the paper's text (``../shared/reference/paper1997.md``
§6–7): the length is uniform in [T, T + T/10]; values are uniform in [−1, 1] (multiplication:
[0, 1]); one of the first ten pairs is marked (X1), then one of the first T/2 − 1 still unmarked
pairs (X2); every other marker is 0 except the first and the last pair, which get −1. If the first
pair is the one marked for X1, it keeps the −1 and X1 counts as 0 (multiplication: 1.0). X2 is
drawn uniformly among the T/2 − 1 positions 1 … T/2 (0-based) other than X1's, never the first
(which carries −1), so the last relevant input is at most at 0-based step T/2 and the lag to the
sequence end is at least T/2 − 1 steps. Targets, at the sequence end only:
0.5 + (X1 + X2) / 4 (adding) or X1 · X2 (multiplication).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._checks import check_bool, check_int


def adding_batch(n: int, T: int, *, multiply: bool = False,
                 generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """``n`` sequences: x (n, T_max, 2) float32 (padded with zeros after each length), lengths (n,)
    int64 in [T, T + T // 10], targets (n,) float32."""
    n = check_int("n", n, minimum=1)
    T = check_int("T", T, minimum=12)              # X1 among the first 10 pairs, X2 among pairs 2 … T/2
    check_bool("multiply", multiply)
    lengths = T + torch.randint(0, T // 10 + 1, (n,), generator=generator)
    longest = int(lengths.max())
    low = 0.0 if multiply else -1.0
    values = low + (1.0 - low) * torch.rand(n, longest, generator=generator)
    steps = torch.arange(longest)
    values = values.masked_fill(steps[None, :] >= lengths[:, None], 0.0)
    rows = torch.arange(n)
    first = torch.randint(0, 10, (n,), generator=generator)                       # X1's pair
    # X2: the (pick+1)-th of the pairs after the first that are not X1's: T/2 - 1 candidates, at most pair T/2
    pick = torch.randint(0, T // 2 - 1, (n,), generator=generator)
    second = 1 + pick
    second = second + ((first >= 1) & (second >= first)).long()
    markers = torch.zeros(n, longest)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    markers[:, 0] = -1.0
    markers[rows, lengths - 1] = -1.0
    x1 = values[rows, first]
    x1 = torch.where(first == 0, torch.full_like(x1, 1.0 if multiply else 0.0), x1)
    x2 = values[rows, second]
    target = x1 * x2 if multiply else 0.5 + (x1 + x2) / 4.0
    x = torch.stack([values, markers.masked_fill(steps[None, :] >= lengths[:, None], 0.0)], dim=-1)
    return x, lengths, target


__all__ = ["adding_batch"]

"""The 1997 paper's Exp. 1: the embedded Reber grammar, as sequence generators.

Following the paper's text (``../shared/reference/paper1997.md`` §3) and the standard Reber graph
of Cleeremans et al. / Fahlman: seven symbols B, T, P, S, X, V, E (one-hot, indices 0…6 in that
order); every branch of the graph is taken with probability 0.5. An embedded string is
``B (T|P) <Reber string B…E> (the same T|P) E``. The net predicts the next symbol at every step:
the inputs are a string's symbols but the last, the targets the one-hot next symbols, and
``legal`` marks every symbol the grammar allows next (after the inner string's E only the T/P that
matches the second symbol, then only E), which is what the paper's success criterion
("the output units of the possible next symbols are the most active") needs.

Data, following Fahlman's protocol as the paper describes it: a fixed training set of 256 random
strings and a test set of 256 random strings none of which is in the training set. Read as: each
set is 256 independent draws from the grammar (so a set may hold a short, probable string more
than once), the test strings redrawn until they are not among the training strings; training
exemplars are drawn at random, with replacement, from the training set.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_bool, check_int
from .base import Sequences, Task

SYMBOLS = "BTPSXVE"
INDEX = {s: i for i, s in enumerate(SYMBOLS)}

#: node -> the (symbol, next node) edges out of it; None: the string ends after that E.
GRAPH: dict[int, tuple[tuple[str, int | None], ...]] = {
    0: (("B", 1),),
    1: (("T", 2), ("P", 3)),
    2: (("S", 2), ("X", 4)),
    3: (("T", 3), ("V", 5)),
    4: (("X", 3), ("S", 6)),
    5: (("P", 4), ("V", 6)),
    6: (("E", None),),
}


def reber_string(rng: np.random.Generator) -> str:
    """One random string of the (plain) Reber grammar, B…E."""
    node: int | None = 0
    out = []
    while node is not None:
        edges = GRAPH[node]
        symbol, node = edges[int(rng.integers(len(edges)))] if len(edges) > 1 else edges[0]
        out.append(symbol)
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """One random embedded Reber string: B, T or P, a Reber string, the same T or P, E."""
    branch = "TP"[int(rng.integers(2))]
    return "B" + branch + reber_string(rng) + branch + "E"


def _walk(string: str, i: int) -> tuple[list[str], int]:
    """Follow a Reber string starting at ``string[i]``: the symbols legal after each of its symbols
    ("" after its E) and the index just past its E."""
    node: int | None = 0
    legal = []
    while node is not None:
        if i >= len(string):
            raise ValueError(f"{string!r} is not a complete Reber string: it ends inside the grammar")
        edges = dict(GRAPH[node])
        if string[i] not in edges:
            raise ValueError(f"{string!r} is not in the Reber grammar: {string[i]!r} at position {i} "
                             f"(only one of {''.join(edges)!r} may follow)")
        node = edges[string[i]]
        i += 1
        legal.append("" if node is None else "".join(s for s, _ in GRAPH[node]))
    return legal, i


def reber_legal(string: str, *, embedded: bool = True) -> list[str]:
    """For each symbol of ``string`` but the last, the symbols the grammar allows next.
    Raises ValueError if ``string`` is not in the (embedded) grammar."""
    check_bool("embedded", embedded)
    if not isinstance(string, str):
        raise TypeError(f"string must be a str, got {type(string).__name__}")
    if not embedded:
        legal, end = _walk(string, 0)
    else:
        if len(string) < 2 or string[0] != "B" or string[1] not in "TP":
            raise ValueError(f"{string!r} is not an embedded Reber string: it must start with BT or BP")
        branch = string[1]
        inner, end = _walk(string, 2)
        if string[end:end + 2] != branch + "E":
            raise ValueError(f"{string!r} is not an embedded Reber string: after the inner string's E "
                             f"it must end with {branch + 'E'!r} (matching its second symbol)")
        legal = ["TP", "B"] + inner[:-1] + [branch, "E", ""]
        end += 2
    if end != len(string):
        raise ValueError(f"{string!r} is not in the grammar: symbols follow the final E")
    return legal[:-1]


def reber_sequences(strings: list[str], *, embedded: bool = True) -> Sequences:
    """``strings`` as a batch: symbols (n, T) the inputs (each string but its last symbol, −1
    padding), targets (n, T, 7) the one-hot next symbol at every step, legal (n, T, 7) the symbols
    the grammar allows next."""
    check_bool("embedded", embedded)
    strings = list(strings)
    if not strings:
        raise ValueError("strings must hold at least one string")
    legal_sets = [reber_legal(s, embedded=embedded) for s in strings]
    n = len(strings)
    lengths = np.array([len(s) - 1 for s in strings], dtype=np.int64)
    T = int(lengths.max())
    symbols = np.full((n, T), -1, dtype=np.int32)
    targets = np.zeros((n, T, len(SYMBOLS)))
    legal = np.zeros((n, T, len(SYMBOLS)), dtype=bool)
    for row, (string, allowed) in enumerate(zip(strings, legal_sets)):
        index = np.array([INDEX[c] for c in string])
        steps = np.arange(len(string) - 1)
        symbols[row, steps] = index[:-1]
        targets[row, steps, index[1:]] = 1.0
        for t, ok in enumerate(allowed):
            legal[row, t, [INDEX[c] for c in ok]] = True
    return Sequences(lengths, targets, len(SYMBOLS), symbols=symbols, every_step=True, legal=legal)


class ReberTask(Task):
    """Exp. 1: a fixed training set of ``train_size`` random embedded Reber strings and a test set of
    ``test_size`` random ones that are not in the training set, both drawn with ``rng``."""

    def __init__(self, rng: np.random.Generator, train_size: int = 256, test_size: int = 256) -> None:
        super().__init__(inputs=len(SYMBOLS), outputs=len(SYMBOLS), every_step=True, name="embedded_reber")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                            f"got {type(rng).__name__}")
        train_size = check_int("train_size", train_size, minimum=1)
        test_size = check_int("test_size", test_size, minimum=1)
        self.train_strings = tuple(embedded_reber_string(rng) for _ in range(train_size))
        seen = set(self.train_strings)
        test: list[str] = []
        while len(test) < test_size:          # ends: the strings not yet seen always have mass > 0
            s = embedded_reber_string(rng)
            if s not in seen:
                test.append(s)
        self.test_strings = tuple(test)
        self.train_set = reber_sequences(list(self.train_strings))
        self.test_set = reber_sequences(list(self.test_strings))

    def train(self, n: int, rng: np.random.Generator) -> Sequences:
        """``n`` exemplars drawn at random (with replacement) from the training set."""
        n = check_int("n", n, minimum=1)
        pick = rng.integers(0, len(self.train_strings), n)
        return reber_sequences([self.train_strings[i] for i in pick])

    def test(self, n: int, rng: np.random.Generator) -> Sequences:
        """The fixed test set (``n`` is ignored)."""
        return self.test_set


__all__ = ["GRAPH", "INDEX", "SYMBOLS", "ReberTask", "embedded_reber_string", "reber_legal",
           "reber_sequences", "reber_string"]

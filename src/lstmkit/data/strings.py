"""String-to-string tasks generated on the fly (nothing downloaded), deterministic by seed.

- ``"dates"``: a date written in one of many human formats ("3 March 1997", "Mar 3, 1997",
  "03/03/97", "monday, march 3, 1997", "1997.03.03", ...) -> its ISO form "1997-03-03". Dates
  are drawn uniformly from 1900-01-01 .. 2099-12-31. Conventions, so that every source names one
  date: "/" with the year last is month first (US: "03/04/97" is March 4), "." with the year last
  is day first (European: "4.3.1997" is March 4), and a two-digit year follows ``strptime``'s
  ``%y`` (69-99 -> 1969-1999, 00-68 -> 2000-2068), so it is used only for dates in 1969-2068.
  Month and weekday names are English, written here (no locale).
- ``"numbers"``: an English number written out ("three hundred and twelve") -> its digits ("312");
  ``"numbers-reverse"``: digits -> words. 0 .. 999999, British usage ("one thousand and five",
  "twenty-one"). The number of digits is drawn uniformly (1..6), then the number within it, so
  small numbers are as common as large ones.

``make_pairs(task, n, seed)`` draws ``n`` (source, target) pairs. ``split_pairs`` and ``make_split``
give the fixed train / validation / test split: a target's part is decided by a hash of the target
string alone (``part_of``), so no test target ever appears in training, whatever the seed or sizes.
"""

from __future__ import annotations

import datetime
import random
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .._checks import check_int

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")   # date.weekday() order
FIRST_DAY, LAST_DAY = datetime.date(1900, 1, 1), datetime.date(2099, 12, 31)
#: The years a two-digit year can name (strptime's %y pivot).
TWO_DIGIT_YEARS = (1969, 2068)


def _ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


#: Date formats: (function of the date -> text, uses a two-digit year). Names are title case here;
#: ``date_text`` then writes the whole string as drawn: as is, lower case or upper case.
DATE_FORMATS: tuple[tuple[Callable[[datetime.date], str], bool], ...] = (
    (lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}", False),                        # 3 March 1997
    (lambda d: f"{d.day:02d} {MONTHS[d.month - 1][:3]} {d.year}", False),                # 03 Mar 1997
    (lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}", False),                   # Mar 3, 1997
    (lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}", False),                       # March 3, 1997
    (lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {d.day}, {d.year}", False),   # Monday, March 3, 1997
    (lambda d: f"{WEEKDAYS[d.weekday()][:3]}, {d.day} {MONTHS[d.month - 1][:3]} {d.year}", False),  # Mon, 3 Mar 1997
    (lambda d: f"{WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}", False),     # Monday 3 March 1997
    (lambda d: f"{_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}", False),           # 3rd of March 1997
    (lambda d: f"{MONTHS[d.month - 1]} {_ordinal(d.day)}, {d.year}", False),             # March 3rd, 1997
    (lambda d: f"{d.day:02d}-{MONTHS[d.month - 1][:3]}-{d.year}", False),                # 03-Mar-1997
    (lambda d: f"{d.month}/{d.day}/{d.year}", False),                                    # 3/3/1997
    (lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}", True),                   # 03/03/97
    (lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}", False),                            # 1997.03.03
    (lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}", False),                            # 1997/03/03
    (lambda d: f"{d.day}.{d.month}.{d.year}", False),                                    # 3.3.1997
    (lambda d: f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}", True),                   # 03.03.97
    (lambda d: f"{d.year}{d.month:02d}{d.day:02d}", False),                              # 19970303
)
CASES: tuple[Callable[[str], str], ...] = (lambda s: s, str.lower, str.upper)


def date_text(day: datetime.date, rng: random.Random) -> str:
    """``day`` in a format (and letter case) drawn with ``rng``; two-digit years only in 1969-2068."""
    lo, hi = TWO_DIGIT_YEARS
    allowed = [f for f, short in DATE_FORMATS if not short or lo <= day.year <= hi]
    return rng.choice(CASES)(rng.choice(allowed)(day))


ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
LARGEST = 999_999


def _below_hundred(n: int) -> str:
    if n < 20:
        return ONES[n]
    tens, ones = divmod(n, 10)
    return TENS[tens] + (f"-{ONES[ones]}" if ones else "")


def _below_thousand(n: int) -> str:
    """1..999; "and" between the hundreds and the rest (British usage)."""
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _below_hundred(rest)
    return f"{ONES[hundreds]} hundred" + (f" and {_below_hundred(rest)}" if rest else "")


def spell_number(n: int) -> str:
    """``n`` (0..999999) in English words: 312 -> "three hundred and twelve", 1005 -> "one thousand
    and five", 21 -> "twenty-one"."""
    check_int("n", n, minimum=0)
    if n > LARGEST:
        raise ValueError(f"n must be <= {LARGEST}, got {n}")
    if n == 0:
        return ONES[0]
    thousands, rest = divmod(n, 1000)
    words = [f"{_below_thousand(thousands)} thousand"] if thousands else []
    if rest:
        # "one thousand and five": "and" before a last part with no hundreds (British usage)
        words.append(("and " if thousands and rest < 100 else "") + _below_thousand(rest))
    return " ".join(words)


def _number(rng: random.Random) -> int:
    digits = rng.randint(1, 6)
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10 ** digits - 1)


def _dates(rng: random.Random) -> tuple[str, str]:
    day = datetime.date.fromordinal(rng.randint(FIRST_DAY.toordinal(), LAST_DAY.toordinal()))
    return date_text(day, rng), day.isoformat()


def _words_to_digits(rng: random.Random) -> tuple[str, str]:
    n = _number(rng)
    return spell_number(n), str(n)


def _digits_to_words(rng: random.Random) -> tuple[str, str]:
    n = _number(rng)
    return str(n), spell_number(n)


#: Each task's generator of one (source, target) pair.
TASKS: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "dates": _dates, "numbers": _words_to_digits, "numbers-reverse": _digits_to_words}


def _task(task: str) -> Callable[[random.Random], tuple[str, str]]:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(map(repr, TASKS))}, got {task!r}")
    return TASKS[task]


def make_pairs(task: str, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (source, target) pairs of ``task`` (one of ``TASKS``); the same seed gives the same pairs."""
    draw = _task(task)
    check_int("n", n, minimum=1)
    check_int("seed", seed, minimum=0)
    rng = random.Random(f"{task}:{seed}")
    return [draw(rng) for _ in range(n)]


#: The fixed split: the share of targets in each part (by the hash of the target string).
PARTS = {"train": 0.8, "val": 0.1, "test": 0.1}


def part_of(target: str) -> str:
    """"train", "val" or "test": the part ``target`` belongs to, from its CRC-32 alone (so every pair
    with that target, in any run, lands in the same part)."""
    if not isinstance(target, str):
        raise TypeError(f"target must be a str, got {type(target).__name__}")
    u = zlib.crc32(target.encode("utf-8")) / 2 ** 32
    edge = 0.0
    for name, share in PARTS.items():
        edge += share
        if u < edge:
            return name
    return name


@dataclass
class Split:
    """Pairs by part; no target of ``test`` (or ``val``) is the target of any ``train`` pair."""

    train: list[tuple[str, str]] = field(default_factory=list)
    val: list[tuple[str, str]] = field(default_factory=list)
    test: list[tuple[str, str]] = field(default_factory=list)


def split_pairs(pairs: Iterable[tuple[str, str]]) -> Split:
    """Put each pair in the part of its target (``part_of``)."""
    out = Split()
    for i, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"pairs[{i}] must be a (source, target) pair, got {pair!r}")
        getattr(out, part_of(pair[1])).append((pair[0], pair[1]))
    return out


def make_split(task: str, train: int, val: int, test: int, seed: int = 0) -> Split:
    """``train``, ``val`` and ``test`` pairs of ``task``, drawn (seeded) until each part of the fixed
    split has its count."""
    draw = _task(task)
    want = {"train": check_int("train", train, minimum=1), "val": check_int("val", val, minimum=0),
            "test": check_int("test", test, minimum=0)}
    check_int("seed", seed, minimum=0)
    rng = random.Random(f"{task}:{seed}")
    out = Split()
    budget = 100 * sum(want.values()) + 1000
    while any(len(getattr(out, k)) < n for k, n in want.items()):
        budget -= 1
        if budget < 0:                                   # pragma: no cover - every part is 10% or more
            raise RuntimeError(f"could not fill the split of {task!r} with {want}")
        source, target = draw(rng)
        part = getattr(out, part_of(target))
        if len(part) < want[part_of(target)]:
            part.append((source, target))
    return out


__all__ = ["DATE_FORMATS", "MONTHS", "PARTS", "Split", "TASKS", "WEEKDAYS", "date_text", "make_pairs",
           "make_split", "part_of", "spell_number", "split_pairs"]

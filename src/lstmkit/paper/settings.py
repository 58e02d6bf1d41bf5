"""Every setting of the 1997 paper's Tables 1–9, as data.

Each figure is transcribed from ``../shared/reference/paper1997.md`` (Tables 1–11 of Hochreiter &
Schmidhuber 1997, with its section). Where the paper gives no budget, a trial that has not stopped
after ``BUDGET`` times the paper's mean number of sequences counts as failed.
"""

from __future__ import annotations

from ..tasks.adding import AddingTask
from ..tasks.long_lag import ManyDistractorsTask, NoiseFreeTask, RandomMiddleTask
from ..tasks.reber import ReberTask
from ..tasks.temporal_order import TemporalOrderTask
from ..tasks.two_sequence import TwoSequenceTask
from .experiments import Experiment, Paper, Setting
from .faithful import Training
from .network import Network
from .rules import Check, Criterion, Stage, Test, Window

#: A trial that has not stopped after this many times the paper's mean sequences has failed.
BUDGET = 4

# §6, Table 7, Tables 10-11 row 4: 2 blocks of 2 cells, 2 inputs, 1 output, 93 weights; all non-input
# units biased; weights in [−0.1, 0.1], input-gate biases −3, −6; α = 0.5; ST3(0.01) with "right" =
# |error| < 0.04 (ABS(0.04)); 2560 test sequences.
ADDING_NET = Network(2, 1, 2, 2, 0.1, input_gate_bias=(-3.0, -6.0))


def _adding_setting(T: int, sequences: float | None, wrong: float | None, quick: bool = False) -> Setting:
    paper = (Paper(10, 100.0, sequences, wrong, note="success rate not stated; every trial is reported solved")
             if sequences else Paper(10, None, None, None, note="not a setting of the paper"))
    budget = int(BUDGET * sequences) if sequences else 100 * T
    return Setting(f"T={T}", ADDING_NET,
                   Training(lr=0.5, max_sequences=budget, stop=Window(2000, 0.01, 0), criterion=Criterion("abs", 0.04)),
                   paper, lambda rng, T=T: AddingTask(T), quick=quick)


ADDING = Experiment(
    "adding", "4", "adding problem",
    "store two marked real values across a lag of T/2 or more and output their sum: distributed, "
    "continuous-valued representations over long time lags, with noise on every step",
    tuple(_adding_setting(T, seqs, wrong, quick=T == 100)
          for T, seqs, wrong in ((100, 74_000, 1), (500, 209_000, 0), (1000, 853_000, 1))),
    custom=lambda T: _adding_setting(T, None, None))

# §7, Table 8: as Exp. 4 but values in [0, 1], X1 = 1.0 on the first pair, target X1·X2; input-gate
# biases random; α = 0.1; stop when fewer than n_seq of the 2000 most recent sequences have
# |error| > 0.04; then 2560 test sequences (wrong and MSE).
MULT_NET = Network(2, 1, 2, 2, 0.1)


def _mult_setting(n_seq: int | None, sequences: float | None, wrong: float | None, mse: float | None,
                  T: int = 100) -> Setting:
    n_seq = n_seq or 13
    paper = (Paper(10, 100.0, sequences, wrong, extra=(("test MSE", mse),),
                   note="success rate not stated; every trial is reported solved")
             if sequences else Paper(10, None, None, None, note="not a setting of the paper"))
    label = f"T={T} n_seq={n_seq}"
    return Setting(label, MULT_NET,
                   Training(lr=0.1, max_sequences=int(BUDGET * sequences) if sequences else 1000 * T,
                            stop=Window(2000, float("inf"), n_seq - 1), criterion=Criterion("abs", 0.04)),
                   paper, lambda rng, T=T: AddingTask(T, multiply=True), quick=True)


MULTIPLICATION = Experiment(
    "multiplication", "5", "multiplication problem",
    "store two marked values and output their product: a non-linear, continuous-valued function of "
    "information held over a long lag",
    (_mult_setting(140, 482_000, 139, 0.0223), _mult_setting(13, 1_273_000, 14, 0.0139)),
    custom=lambda T: _mult_setting(None, None, None, None, T))


# §3, Table 1, Tables 10-11 rows 1-1 … 1-5: 7 inputs and outputs (one-hot), 4 blocks of 1 cell (264
# weights) or 3 of 2 (276); bias on the gates only; outputs see the cells only; weights in
# [−0.2, 0.2], output-gate biases −1, −2, −3 (−4); errors at every step; success: every symbol of
# every string of the training and the test set right (the possible next symbols most active);
# 3 training/test set pairs × 10 initialisations = 30 trials. The budget is not stated.
def _reber_setting(row: int, blocks: int, size: int, lr: float, success: float, sequences: float) -> Setting:
    net = Network(7, 7, blocks, size, 0.2, output_gate_bias=tuple(-1.0 - b for b in range(blocks)),
                  cell_bias=False, output_bias=False)
    training = Training(lr=lr, max_sequences=int(BUDGET * sequences), update="step",
                        stop=Check(100, 0, (Stage("all strings right"),), task_sets=True),
                        criterion=Criterion("legal"), test=Test(256, task_sets=True))
    return Setting(f"{blocks}x{size} lr={lr:g}", net, training, Paper(30, success, sequences, None),
                   lambda rng: ReberTask(rng), quick=True, task_sets=3)


REBER = Experiment(
    "reber", "1", "embedded Reber grammar",
    "predict the next symbol of strings of the embedded Reber grammar, remembering the second "
    "symbol across the inner string: a benchmark with short time lags (at least 9 steps)",
    (_reber_setting(1, 4, 1, 0.1, 100, 39_740), _reber_setting(2, 3, 2, 0.1, 100, 21_730),
     _reber_setting(3, 3, 2, 0.2, 97, 14_060), _reber_setting(4, 4, 1, 0.5, 97, 9_500),
     _reber_setting(5, 3, 2, 0.5, 100, 8_440)))

# §4: 2a/2b, Table 2: one memory cell with an input gate and no output gate, g = σ, h = identity;
# connectivity "B" (outputs see the inputs and the cell; the cell and its gate see the inputs), no
# biases, 10504 weights; weights in [−0.2, 0.2]; α = 1.0; errors at every step; success: all
# outputs within 0.25 over 10,000 successive random sequences (2b: at the sequence end); a budget
# of 5,000,000 sequences (here: BUDGET times the paper's mean, as everywhere); 18 trials. The cell and its gate are added once the error stops
# decreasing (sequential construction, ``Training.grow``).
# 2c, Table 3: 2 blocks of 1 cell, fully connected, no biases, outputs see the cells only, 2 outputs;
# weights in [−0.2, 0.2]; α = 0.01; success: both outputs within 0.2 at the sequence end over 10,000
# successive random sequences; 5,000,000 sequences at most (here BUDGET times the mean); 20 trials.
LONG_LAG_BUDGET = 5_000_000


def _two_a(p: int, random_middle: bool) -> Setting:
    net = Network(p + 1, p + 1, 1, 1, 0.2, hidden_bias=False, output_bias=False, recurrent=False,
                  outputs_see_inputs=True, output_gates=False, squash="2a")
    training = Training(lr=1.0, max_sequences=min(LONG_LAG_BUDGET, BUDGET * (5_680 if random_middle else 5_040)),
                        update="step", grow=True, stop=Check(100, 10_000),
                        criterion=Criterion("abs", 0.25, at_end=random_middle), test=Test(10_000))
    if random_middle:
        return Setting(f"2b p={p}", net, training,
                       Paper(18, 100.0, 5_680, None, note="no table; the text: always solved"),
                       lambda rng: RandomMiddleTask(p), quick=True)
    return Setting(f"2a p={p}", net, training, Paper(18, 100.0, 5_040, None), lambda rng: NoiseFreeTask(p), quick=True)


def _two_c(q: int, p: int, sequences: float) -> Setting:
    net = Network(p + 4, 2, 2, 1, 0.2, hidden_bias=False, output_bias=False)
    training = Training(lr=0.01, max_sequences=min(LONG_LAG_BUDGET, int(BUDGET * sequences)), stop=Check(1000, 10_000),
                        criterion=Criterion("abs", 0.2), test=Test(10_000))
    return Setting(f"2c q={q} p={p}", net, training, Paper(20, None, sequences, None, note="success rate not stated"),
                   lambda rng: ManyDistractorsTask(q, p), quick=q <= 100)


LONG_LAG = Experiment(
    "long-lag", "2", "noise-free and noisy sequences with long time lags",
    "remember the first symbol of a sequence across 100 to 1000 steps of other symbols: local "
    "regularities (2a), none (2b), many distractors and a lag that grows with the sequence (2c)",
    (_two_a(100, False), _two_a(100, True))
    + tuple(_two_c(q, p, seqs) for q, p, seqs in ((50, 50, 30_000), (100, 100, 31_000), (200, 200, 33_000),
                                                  (500, 500, 38_000), (1000, 1000, 49_000), (1000, 500, 49_000),
                                                  (1000, 200, 75_000), (1000, 100, 135_000), (1000, 50, 203_000))))

# §5, Tables 4-6: 1 input, 1 output, 3 blocks of 1 cell, all hidden units biased (the output not),
# 102 weights; weights in [−0.1, 0.1], input-gate biases −1, −3, −5, output-gate biases −2, −4, −6;
# α = 1.0 (3a, 3b), 0.1 (3c); right: |error| < 0.2 at the end (3c: within 0.1 of the noise-free
# target). Stopping on a random test set of 256 sequences, 3a: ST1 none wrong, ST2 and mean
# |error| < 0.01; 3b: ST1 fewer than 6 wrong, ST2 and mean |error| < 0.04; 3c: none wrong and mean
# |y − noise-free target| < 0.015. Then 2560 test sequences. 10 trials. The paper reports the
# fraction misclassified; ``wrong`` here is that fraction of 2560.
def _three(kind: str, T: int, N: int, st1: float | None, st2: float, fraction: float,
           extra: tuple[tuple[str, float], ...] = ()) -> Setting:
    net = Network(1, 1, 3, 1, 0.1, input_gate_bias=(-1.0, -3.0, -5.0), output_gate_bias=(-2.0, -4.0, -6.0),
                  output_bias=False)
    if kind == "3a":
        stages = (Stage("ST1"), Stage("ST2", 0, 0.01))
    elif kind == "3b":
        stages = (Stage("ST1", 5), Stage("ST2", 5, 0.04))
    else:
        stages = (Stage("stop", 0, 0.015),)
    training = Training(lr=0.1 if kind == "3c" else 1.0, max_sequences=int(BUDGET * st2),
                        stop=Check(500 if T <= 100 else 2000, 256, stages),
                        criterion=Criterion("clean", 0.1) if kind == "3c" else Criterion("abs", 0.2))
    paper = Paper(10, None, st2, fraction * 2560, extra=((("ST1", st1),) if st1 else ()) + extra,
                  note="success rate not stated")
    return Setting(f"{kind} T={T} N={N}", net, training, paper,
                   lambda rng: TwoSequenceTask(T, N, noisy_info=kind == "3b", noisy_targets=kind == "3c"),
                   quick=T <= 100, extra=("ST1",) if st1 else ())


TWO_SEQUENCE = Experiment(
    "two-sequence", "3", "noise and signal on the same channel",
    "classify a sequence by its first N elements across 100 or 1000 steps of Gaussian noise on the "
    "same input line (3a), with noise on the information too (3b), and with noisy targets whose "
    "conditional expectation must be learned (3c)",
    (_three("3a", 100, 3, 27_380, 39_850, 0.000195), _three("3a", 100, 1, 58_370, 64_330, 0.000117),
     _three("3a", 1000, 3, 446_850, 452_460, 0.000078),
     _three("3b", 100, 3, 41_740, 43_250, 0.00828), _three("3b", 100, 1, 74_950, 78_430, 0.01500),
     _three("3b", 1000, 1, 481_060, 485_080, 0.01207),
     _three("3c", 100, 3, None, 269_650, 0.00558, (("av. difference to mean", 0.014),)),
     _three("3c", 100, 1, None, 565_640, 0.00441, (("av. difference to mean", 0.012),))))

# §8, Table 9: 8 one-hot inputs; 6a: 2 blocks of 2 cells, 4 outputs, 156 weights, α = 0.5,
# input-gate biases −2, −4; 6b: 3 blocks of 2, 8 outputs, 308 weights, α = 0.1, −2, −4, −6; all
# non-input units biased; weights in [−0.1, 0.1]; ST3(0.1) with right = every output within 0.3 at
# the end; 2560 test sequences; 20 (6a) and 10 (6b) trials.
def _six(relevant: int, sequences: float, wrong: float, trials: int) -> Setting:
    blocks = relevant
    net = Network(8, 2 ** relevant, blocks, 2, 0.1, input_gate_bias=tuple(-2.0 * (b + 1) for b in range(blocks)))
    training = Training(lr=0.5 if relevant == 2 else 0.1, max_sequences=int(BUDGET * sequences),
                        stop=Window(2000, 0.1, 0), criterion=Criterion("abs", 0.3))
    return Setting("6a" if relevant == 2 else "6b", net, training,
                   Paper(trials, None, sequences, wrong, note="success rate not stated"),
                   lambda rng: TemporalOrderTask(relevant), quick=True)


TEMPORAL_ORDER = Experiment(
    "temporal-order", "6", "temporal order",
    "classify a sequence by the order of two (6a) or three (6b) widely separated symbols among "
    "distractors: extracting information conveyed by the temporal order of distant inputs",
    (_six(2, 31_390, 1, 20), _six(3, 571_100, 2, 10)))

EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (REBER, LONG_LAG, TWO_SEQUENCE, ADDING, MULTIPLICATION,
                                                          TEMPORAL_ORDER)}


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}, or all")
    return EXPERIMENTS[name]


__all__ = ["ADDING", "BUDGET", "EXPERIMENTS", "LONG_LAG", "MULTIPLICATION", "REBER", "TEMPORAL_ORDER", "TWO_SEQUENCE", "get"]

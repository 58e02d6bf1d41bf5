"""Hyperparameter search with Optuna: ``tune(task, trials=20)`` samples configurations (TPE,
seeded), trains each, reports its validation loss after every epoch so that unpromising trials are
pruned (median rule), and returns the best configuration. Only validation data are used: no test
set is ever seen while tuning.

Tasks are registered in ``TUNABLE``: a search space ``space(trial) -> params`` and an objective
``objective(params, report, quick) -> validation loss`` that calls ``report(epoch, val_loss)``
after each epoch (the trainer's ``on_epoch`` hook). Optuna is an optional dependency
(``pip install optuna``).

A study can live in a database (``storage``: any URL Optuna takes, e.g. ``sqlite:///tune.db``, or
a PostgreSQL URL that several machines share), under ``study_name``; ``resume=True`` continues
it, so an interrupted search (a killed process) goes on until ``trials`` trials have finished.
The result also gives each hyperparameter's importance (Optuna's PED-ANOVA evaluator, which needs
no other package).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .._checks import check_int


@dataclass
class Tunable:
    space: Callable[[Any], dict[str, Any]]
    objective: Callable[[dict[str, Any], Callable[[int, float], None], bool], float]
    what: str


@dataclass
class TuneResult:
    """``best_params`` and ``best_value`` (validation loss) of the ``trials`` (one dict each:
    number, state COMPLETE/PRUNED/FAIL, value, params, seconds)."""

    task: str
    best_params: dict[str, Any]
    best_value: float
    trials: list[dict[str, Any]] = field(default_factory=list)
    importances: dict[str, float] = field(default_factory=dict)   # hyperparameter -> share, summing to 1

    def __str__(self) -> str:
        lines = [f"{'trial':>5}  {'state':<9}{'val loss':>10}{'time':>8}  params"]
        for t in self.trials:
            value = "" if t["value"] is None else f"{t['value']:.4g}"
            params = ", ".join(f"{k}={_short(v)}" for k, v in t["params"].items())
            lines.append(f"{t['number']:>5}  {t['state']:<9}{value:>10}{t['seconds']:>7.1f}s  {params}")
        best = ", ".join(f"{k}={_short(v)}" for k, v in self.best_params.items())
        lines.append(f"best: validation loss {self.best_value:.4g} with {best}")
        if self.importances:
            lines.append("importance: " + ", ".join(f"{k} {v:.2f}" for k, v in self.importances.items()))
        return "\n".join(lines)


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


TUNABLE: dict[str, Tunable] = {}


def register(name: str, space: Callable[[Any], dict[str, Any]],
             objective: Callable[[dict[str, Any], Callable[[int, float], None], bool], float], what: str) -> None:
    TUNABLE[name] = Tunable(space, objective, what)


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ValueError("lstmkit tune needs Optuna: pip install optuna") from None
    return optuna


def tune(task: str, trials: int = 20, *, seed: int = 0, quick: bool = False, timeout: float | None = None,
         progress: Callable[[str], None] | None = None, storage: str | None = None, study_name: str | None = None,
         resume: bool = False) -> TuneResult:
    """Search ``task``'s hyperparameters until ``trials`` trials have finished (or ``timeout``
    seconds). ``storage``: a database URL to keep the study in (None: memory only), under
    ``study_name`` (default: the task's name, with "-quick" for ``quick``); ``resume``: continue
    that study (its finished trials count), else a study of that name must not exist yet."""
    if task not in TUNABLE:
        raise ValueError(f"unknown task {task!r} for tuning; the tasks are {', '.join(sorted(TUNABLE))}")
    check_int("trials", trials, minimum=1)
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    entry = TUNABLE[task]
    seconds: dict[int, float] = {}

    def objective(trial) -> float:
        params = entry.space(trial)
        started = time.perf_counter()

        def report(epoch: int, loss: float) -> None:
            trial.report(loss, epoch)
            if trial.should_prune():
                seconds[trial.number] = time.perf_counter() - started
                raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}")
        value = entry.objective(params, report, quick)
        seconds[trial.number] = time.perf_counter() - started
        return value

    def log(study, trial) -> None:
        if progress is not None:
            value = "" if trial.value is None else f", validation loss {trial.value:.4g}"
            progress(f"trial {trial.number + 1}/{trials}: {trial.state.name.lower()}{value}")

    name = study_name or (f"{task}-quick" if quick else task)
    if storage is not None and not resume:
        try:
            existing = optuna.study.get_all_study_names(storage)
        except Exception as err:                                   # a bad URL, an unreachable server
            raise ValueError(f"storage {storage!r} cannot be opened: {err}") from None
        if name in existing:
            raise ValueError(f"a study named {name!r} already exists in {storage}; resume it (resume=True, "
                             f"--resume) or choose another name (study_name=, --study)")
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
                                storage=storage, study_name=name, load_if_exists=resume)
    if study.trials:                 # resumed: a fresh draw, not the first trials' configurations again
        study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    left = trials - len(study.get_trials(deepcopy=False, states=finished))
    if left > 0:
        study.optimize(objective, n_trials=left, timeout=timeout, callbacks=[log], catch=())
    rows = [{"number": t.number, "state": t.state.name, "value": t.value, "params": dict(t.params),
             "seconds": seconds.get(t.number, _duration(t))} for t in study.trials]
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not done:
        raise ValueError(f"no trial of {task!r} completed ({len(rows)} pruned or failed); run more trials")
    return TuneResult(task, dict(study.best_params), float(study.best_value), rows, _importances(optuna, study))


def _duration(trial: Any) -> float:
    """Seconds a stored trial ran (0 if it never finished: e.g. killed with its process)."""
    if trial.datetime_start is None or trial.datetime_complete is None:
        return 0.0
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def _importances(optuna: Any, study: Any) -> dict[str, float]:
    """PED-ANOVA importance of each hyperparameter ({} with too few completed trials to tell)."""
    import warnings
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    if len(done) < 2 or len({tuple(sorted(t.params.items())) for t in done}) < 2:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
    except (RuntimeError, ValueError, ZeroDivisionError):                             # e.g. a parameter with one value only
        return {}
    return {k: float(v) for k, v in found.items()}


# -- the tasks ------------------------------------------------------------------------------------------

def _forecast_space(trial) -> dict[str, Any]:
    return {"hidden_size": trial.suggest_categorical("hidden_size", [16, 32, 64]),
            "lookback": trial.suggest_categorical("lookback", [12, 24, 36]),
            "lr": trial.suggest_float("lr", 1e-3, 1e-2, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.3)}


def _forecast_objective(name: str, horizon: int) -> Callable[[dict[str, Any], Callable[[int, float], None], bool], float]:
    def objective(params: dict[str, Any], report: Callable[[int, float], None], quick: bool) -> float:
        from ..data import DATASETS
        from ..forecast import LSTMForecaster
        y = DATASETS[name].load()
        epochs = 8 if quick else 200
        # the objective is the validation loss, so the intervals' cross-fitted calibration is not needed
        model = LSTMForecaster(horizon=horizon, epochs=epochs, patience=30, seed=0, calibration_folds=0, **params)

        def on_epoch(row: dict[str, Any]) -> None:
            report(row["epoch"], row["val_loss"])
        model.fit(y[:-horizon], on_epoch=on_epoch)            # the last horizon is never seen
        return min(r["val_loss"] for h in model.history_ for r in h)
    return objective


register("airline", _forecast_space, _forecast_objective("airline", 12),
         "LSTMForecaster on airline (horizon 12): hidden size, lookback, learning rate, dropout; "
         "validation: the Gaussian NLL of the held-out windows")



def _regularisers(trial) -> dict[str, Any]:
    """The recurrent regularisers and weight decay, searched together with the sizes."""
    return {"recurrent_dropout": trial.suggest_float("recurrent_dropout", 0.0, 0.5),
            "weight_drop": trial.suggest_float("weight_drop", 0.0, 0.5),
            "weight_decay": trial.suggest_float("weight_decay", 1e-4, 0.3, log=True)}


def _vowels_space(trial) -> dict[str, Any]:
    return {"hidden_size": trial.suggest_categorical("hidden_size", [16, 32, 64, 128]),
            "pooling": trial.suggest_categorical("pooling", ["last", "mean", "attention"]),
            "lr": trial.suggest_float("lr", 1e-3, 3e-2, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5), **_regularisers(trial)}


def _vowels_objective(params: dict[str, Any], report: Callable[[int, float], None], quick: bool) -> float:
    from ..data.sequences import load_japanese_vowels
    from .classifier import SequenceClassifier
    X, y = load_japanese_vowels("train")                      # the test split is never read
    if quick:
        X, y = X[::5], y[::5]
    model = SequenceClassifier("lstm", bidirectional=True, epochs=2 if quick else 60, patience=10,
                               val_fraction=0.2, seed=0, **params)
    model.fit(X, y, on_epoch=lambda row: report(row["epoch"], row["val_loss"]))
    return min(row["val_loss"] for row in model.history_)


def _chorales_space(trial) -> dict[str, Any]:
    return {"hidden_size": trial.suggest_categorical("hidden_size", [64, 128, 256]),
            "lr": trial.suggest_float("lr", 1e-3, 1e-2, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5)}


def _chorales_objective(params: dict[str, Any], report: Callable[[int, float], None], quick: bool) -> float:
    from ..data.music import load_chorales
    from .music import PianoRollModel
    train, valid = load_chorales("train", grid="quarter"), load_chorales("valid", grid="quarter")   # not "test"
    if quick:
        train, valid = train[:12], valid[:4]
    model = PianoRollModel("lstm", epochs=2 if quick else 100, seed=0, **params)
    model.fit(train, valid, on_epoch=lambda row: report(row["epoch"], row["val_loss"]))
    return model.nll(valid)


def _reviews_space(trial) -> dict[str, Any]:
    return {"hidden_size": trial.suggest_categorical("hidden_size", [64, 128]),
            "lr": trial.suggest_float("lr", 1e-3, 1e-2, log=True),
            "dropout": trial.suggest_float("dropout", 0.2, 0.6),
            "embedding_dropout": trial.suggest_float("embedding_dropout", 0.0, 0.3), **_regularisers(trial)}


def _reviews_objective(params: dict[str, Any], report: Callable[[int, float], None], quick: bool) -> float:
    from ..data.sequences import load_movie_reviews
    from .classifier import DATASET_SETTINGS, SequenceClassifier
    X, y = load_movie_reviews()
    if quick:
        X, y = X[::20], y[::20]
    settings = {**DATASET_SETTINGS["movie-reviews"], **params}
    if quick:
        settings.update(epochs=2, hidden_size=16, embedding_size=16)
    model = SequenceClassifier("lstm", val_fraction=0.1, seed=0, **settings)
    model.fit(X, y, on_epoch=lambda row: report(row["epoch"], row["val_loss"]))
    return min(row["val_loss"] for row in model.history_)


register("japanese-vowels", _vowels_space, _vowels_objective,
         "bidirectional LSTM SequenceClassifier on JapaneseVowels' training split: hidden size, pooling, learning "
         "rate, dropout, recurrent dropout, weight drop, weight decay; validation: the cross-entropy of a stratified "
         "20% of the training split")
register("movie-reviews", _reviews_space, _reviews_objective,
         "biLSTM-attention SequenceClassifier on the movie-review sentences: hidden size, learning rate, dropout, "
         "embedding dropout, recurrent dropout, weight drop, weight decay; validation: the cross-entropy of a "
         "stratified 10% (the sentences a later cross-validation tests on are seen: tune, then confirm on new data)")
register("chorales", _chorales_space, _chorales_objective,
         "LSTM PianoRollModel on the quarter-note Bach chorales: hidden size, learning rate, dropout; validation: "
         "the NLL per frame of the validation pieces")


__all__ = ["TUNABLE", "TuneResult", "register", "tune"]

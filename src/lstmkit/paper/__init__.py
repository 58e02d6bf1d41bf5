"""The 1997 paper (Hochreiter & Schmidhuber, "Long Short-Term Memory") reproduced: its experiments
as data (``experiments``) and its networks and on-line training, for many trials at once
(``faithful``)."""

from .experiments import EXPERIMENTS, Experiment, SettingResult, get

__all__ = ["EXPERIMENTS", "Experiment", "SettingResult", "get"]

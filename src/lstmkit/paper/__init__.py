"""The 1997 paper (Hochreiter & Schmidhuber, "Long Short-Term Memory") reproduced: its experiments
as data (``settings``), its networks (``network``), its learning algorithm for many trials at once
(``faithful``, on the numba kernel ``_rtrl``), its criteria and stopping rules (``rules``)."""

from .experiments import Experiment, Paper, Setting, SettingResult
from .settings import EXPERIMENTS, get

__all__ = ["EXPERIMENTS", "Experiment", "Paper", "Setting", "SettingResult", "get"]

"""lstmkit: Long Short-Term Memory in Python, from the 1997 paper to practice."""

from .cell_module import LSTMCell
from .cells import cells
from .layer import LSTM
from .parallel import ParallelLSTM
from . import tasks

__version__ = "0.1.0"

__all__ = ["LSTM", "LSTMCell", "ParallelLSTM", "cells", "tasks", "__version__"]

"""See inside an LSTM: traces of every gate and cell state, memory analysis, attributions, plots
and a browsable HTML report.

- ``trace(model, x, lengths)`` -> ``Trace``: gates, cell inputs, cell states and hidden states of
  every LSTM layer, direction, step and unit (``lstmkit.explain.trace``).
- ``memory(layer_trace)`` and friends: forget-gate time scales, gate saturation, and the units
  whose cell state tracks a signal or jumps at marked steps (``lstmkit.explain.analysis``).
- ``integrated_gradients``, ``gradient_x_input`` (Captum), ``attention_weights``
  (``lstmkit.explain.attribution``).
- plots (``lstmkit.explain.plots``) and ``write_report`` (``lstmkit.explain.report``).
"""

from .analysis import Memory, correlate, jump_ratio, memory, saturation, top_units
from .attribution import Attribution, attention_weights, gradient_x_input, integrated_gradients
from .pipeline import Explained, explain_model, explain_task
from .report import screenshot, write_report
from .trace import GATES, QUANTITIES, LayerTrace, Trace, trace

__all__ = ["GATES", "QUANTITIES", "Attribution", "Explained", "LayerTrace", "Memory", "Trace", "attention_weights",
           "correlate", "explain_model", "explain_task", "gradient_x_input", "integrated_gradients", "jump_ratio",
           "memory", "saturation", "screenshot", "top_units", "trace", "write_report"]

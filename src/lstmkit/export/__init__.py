"""Export to ONNX: ``to_onnx(module, path)`` writes an ``lstmkit.LSTM`` or ``torch.nn.LSTM`` as an
ONNX graph with dynamic batch and length, and checks it in onnxruntime on the spot.

Needs the ``export`` extra (``pip install lstmkit[export]``: onnx and onnxruntime), imported only
when an export is asked for.
"""

from __future__ import annotations

from .onnx import NATIVE_CELLS, ExportError, export_checkpoint, to_onnx, verify

__all__ = ["NATIVE_CELLS", "ExportError", "export_checkpoint", "to_onnx", "verify"]

"""``lstmkit export``: a saved model to ONNX, verified in onnxruntime before the file is written."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a saved model to ONNX (verified in onnxruntime)",
                       description="Write CHECKPOINT as an ONNX graph with free batch and length, run it in "
                                   "onnxruntime against PyTorch on random input, and keep the file only if they "
                                   "agree. Exports the models that lstmkit compare --save-dir and lstmkit explain "
                                   "--save write (an LSTM encoder and a head on the last step); from Python, "
                                   "lstmkit.export.to_onnx exports any forget, peephole, cifg or vanilla layer.")
    p.add_argument("checkpoint", type=Path, help="a .safetensors model file")
    p.add_argument("out", type=Path, help="the .onnx file to write")
    p.add_argument("--tolerance", type=float, default=1e-5,
                   help="largest difference allowed, times max(1, |output|) (default %(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..export import ExportError, export_checkpoint

    if not args.tolerance > 0:
        raise ValueError(f"--tolerance must be positive, got {args.tolerance}")
    try:
        worst = export_checkpoint(args.checkpoint, args.out, tolerance=args.tolerance)
    except ExportError as err:
        print(f"lstmkit export: verification failed, nothing written: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} (onnxruntime agrees with PyTorch within {worst:.2g})")
    return 0

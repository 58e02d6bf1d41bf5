"""One streaming step, batch 1, states in and out: the exported ONNX graph in onnxruntime
(``lstmkit.export.to_onnx(..., streaming=True)``) against PyTorch (``lstmkit.LSTM`` with T = 1,
``torch.nn.LSTMCell``), interleaved in one process, median of the repeats, microseconds per step.

    python benchmarks/bench_stream_step.py [--sizes 8,128] [--steps 2000] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from lstmkit import LSTM
from lstmkit.export import to_onnx


def per_step(fn, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        fn()
    return 1e6 * (time.perf_counter() - started) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="8,128")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    print(f"one step, batch 1, I = H, float32, {args.threads} thread(s), median of {args.repeats} x {args.steps} steps")
    print(f"{'H':>5} {'ORT streaming graph':>20} {'lstmkit.LSTM T=1':>18} {'nn.LSTMCell':>12}   (µs per step)")
    for H in (int(v) for v in args.sizes.split(",")):
        torch.manual_seed(0)
        lstm = LSTM(H, H).eval()
        cell = torch.nn.LSTMCell(H, H).eval()
        path = Path(tempfile.mkdtemp()) / "step.onnx"
        to_onnx(lstm, path, streaming=True)
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        x = np.random.default_rng(0).normal(size=(1, H)).astype(np.float32)
        state = {"h": np.zeros((1, 1, H), np.float32), "c": np.zeros((1, 1, H), np.float32)}
        xt, ht = torch.from_numpy(x), (torch.zeros(1, 1, H), torch.zeros(1, 1, H))
        hc = (torch.zeros(1, H), torch.zeros(1, H))

        def ort_step():
            _, state["h"], state["c"] = session.run(None, {"x": x, "h0": state["h"], "c0": state["c"]})

        def lstm_step():
            nonlocal ht
            with torch.no_grad():
                _, ht = lstm(xt[None], ht)

        def cell_step():
            nonlocal hc
            with torch.no_grad():
                hc = cell(xt, hc)

        times = {name: [] for name in ("ort", "lstm", "cell")}
        for fn in (ort_step, lstm_step, cell_step):
            per_step(fn, 200)                            # warm-up
        for _ in range(args.repeats):
            for name, fn in (("ort", ort_step), ("lstm", lstm_step), ("cell", cell_step)):
                times[name].append(per_step(fn, args.steps))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{H:>5} {med['ort']:>20.1f} {med['lstm']:>18.1f} {med['cell']:>12.1f}")


if __name__ == "__main__":
    main()

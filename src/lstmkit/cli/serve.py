"""``lstmkit serve``: an HTTP server with a durable recurrent state per stream (``lstmkit.serve``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve a saved model over HTTP with a recurrent state per stream",
                       description="Start an HTTP server (FastAPI + uvicorn; docs at /docs) that keeps each "
                                   "stream's LSTM state in a SQLite file and answers every new event at once. "
                                   "Serves the models that lstmkit compare --save-dir and lstmkit explain --save "
                                   "write (a one-direction LSTM encoder and a head).")
    p.add_argument("checkpoint", type=Path, help="a .safetensors model file")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    p.add_argument("--state", type=Path, default=Path("lstmkit-streams.db"),
                   help="SQLite file of the streams' states, kept across restarts (default %(default)s)")
    p.add_argument("--api-key-file", type=Path,
                   help="file holding the API key every request but /healthz must send in X-API-Key "
                        "(default: the LSTMKIT_API_KEY environment variable)")
    p.add_argument("--no-auth", action="store_true",
                   help="serve without an API key (only where nobody else can reach the port)")
    p.add_argument("--batch-wait", type=float, default=2.0,
                   help="milliseconds a micro-batch waits for other streams' requests (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=256,
                   help="streams per micro-batch at most; 1 steps one request at a time (default %(default)s)")
    p.add_argument("--max-steps", type=int, default=10_000, help="time steps per request at most (default %(default)s)")
    p.add_argument("--max-bytes", type=int, default=1_000_000, help="bytes per request at most (default %(default)s)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    if not 0 <= args.batch_wait <= 1000:
        raise ValueError(f"--batch-wait must be 0..1000 milliseconds, got {args.batch_wait}")
    for flag in ("max_steps", "max_bytes", "batch_size"):
        if getattr(args, flag) < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    key = None
    if args.api_key_file is not None:
        if not args.api_key_file.is_file():
            raise ValueError(f"--api-key-file: no file {str(args.api_key_file)!r}")
        key = args.api_key_file.read_text().strip()
    elif os.environ.get("LSTMKIT_API_KEY"):
        key = os.environ["LSTMKIT_API_KEY"].strip()
    if key is None and not args.no_auth:
        raise ValueError("no API key: set LSTMKIT_API_KEY or pass --api-key-file FILE (or --no-auth for a server "
                         "only this machine can reach)")
    from ..serve import create_app

    app = create_app(args.checkpoint, args.state, api_key=None if args.no_auth else key, max_steps=args.max_steps,
                     max_bytes=args.max_bytes, batch_wait=args.batch_wait / 1000, batch_size=args.batch_size)
    try:
        import uvicorn
    except ImportError as e:                                         # pragma: no cover - in the test extra
        raise ValueError("lstmkit serve needs uvicorn: pip install 'lstmkit[serve]'") from e
    print(f"serving {args.checkpoint} on http://{args.host}:{args.port} (docs at /docs; states in {args.state})",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0

"""``lstmkit serve``: an HTTP server with a durable recurrent state per stream (``lstmkit.serve``)."""

from __future__ import annotations

import argparse
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
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    from ..serve import create_app

    app = create_app(args.checkpoint, args.state)
    try:
        import uvicorn
    except ImportError as e:                                         # pragma: no cover - in the test extra
        raise ValueError("lstmkit serve needs uvicorn: pip install 'lstmkit[serve]'") from e
    print(f"serving {args.checkpoint} on http://{args.host}:{args.port} (docs at /docs; states in {args.state})",
          flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0

"""``lstmkit serve``: an HTTP server that keeps a durable recurrent state per stream.

Each stream (a student, a patient, a ticker) has its own LSTM state. ``POST
/v1/streams/{id}/events`` advances that state by the new time steps and answers the model's output
at each, without the client resending the history. The states live in a SQLite database
(``state``), written in one transaction per request before the answer is sent, so a server that is
killed and restarted goes on from every event it acknowledged.

Models: the ``LastStep`` models that ``lstmkit compare --save-dir`` and ``lstmkit explain --save``
write (an LSTM encoder, one direction, and a linear head), whose output at a step is the head on
that step's LSTM output: exactly what the model answers for the sequence ending there.

Endpoints: ``POST /v1/streams/{id}/events`` {"events": [[x_1…x_I], …]} -> {"stream", "steps",
"outputs"}; ``GET /v1/streams/{id}`` -> {"stream", "steps", "last_output"}; ``DELETE
/v1/streams/{id}``; ``POST /v1/predict`` {"sequence": [[…], …]} -> {"output"} (no state);
``GET /healthz``; ``GET /metrics`` (Prometheus text); OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

import hmac
import json
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

STREAM_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class StreamModel:
    """A saved LastStep model, stepped: ``step(x (n, I), state)`` -> (outputs (n, O), new state)."""

    def __init__(self, path: str | Path) -> None:
        from .models.compare import LastStep

        path = Path(path)
        if not path.is_file():
            raise ValueError(f"serve: no checkpoint file {str(path)!r}")
        model = LastStep.load(path)
        if model.encoder.kind != "lstm" or model.encoder.bidirectional:
            raise ValueError(f"serve: a stream steps forward in time, so the model needs a one-direction 'lstm' "
                             f"encoder; {str(path)!r} has {model.encoder.kind!r}"
                             f"{' (bidirectional)' if model.encoder.bidirectional else ''}")
        self.model, self.path = model.eval(), path
        rnn = model.encoder.rnn
        self.inputs, self.outputs = rnn.input_size, model.head.out_features
        self.state_shape = (rnn.num_layers, 1, rnn.hidden_size)

    def check(self, rows: Any, what: str) -> np.ndarray:
        """``rows`` as a finite float32 (n, I) array, or a ValueError that names what is wrong."""
        try:
            x = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{what} must be a list of time steps, each a list of {self.inputs} numbers") from None
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != self.inputs:
            raise ValueError(f"{what} must be a non-empty list of time steps of {self.inputs} numbers each, got "
                             f"shape {tuple(x.shape)}")
        bad = np.argwhere(~np.isfinite(x))
        if len(bad):
            raise ValueError(f"{what}: step {int(bad[0][0])}, feature {int(bad[0][1])} is {x[tuple(bad[0])]}, "
                             "not a finite number")
        return x.astype(np.float32)

    def step(self, x: np.ndarray, state: tuple[np.ndarray, np.ndarray] | None):
        hx = None if state is None else tuple(torch.from_numpy(s.reshape(self.state_shape).copy()) for s in state)
        with torch.no_grad():
            out, (h, c) = self.model.encoder.rnn(torch.from_numpy(x)[None], hx)
            y = self.model.head(out[0])
        return y.numpy(), (h.numpy().astype(np.float32), c.numpy().astype(np.float32))


class StateStore:
    """Per-stream state in SQLite: steps, h, c and the last output, one transaction per update."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.parent.is_dir():
            raise ValueError(f"serve: directory {str(path.parent)!r} for the state database does not exist")
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS streams (id TEXT PRIMARY KEY, model TEXT, steps INTEGER, "
                        "h BLOB, c BLOB, last TEXT, updated REAL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS requests (stream TEXT, key TEXT, response TEXT, "
                        "PRIMARY KEY (stream, key))")
        self.lock = threading.Lock()

    def get(self, stream: str) -> tuple[int, np.ndarray, np.ndarray, list[float]] | None:
        row = self.db.execute("SELECT steps, h, c, last FROM streams WHERE id = ?", (stream,)).fetchone()
        if row is None:
            return None
        return row[0], np.frombuffer(row[1], np.float32), np.frombuffer(row[2], np.float32), json.loads(row[3])

    def answered(self, stream: str, key: str) -> dict[str, Any] | None:
        """The response already given to the request with this idempotency key, if any."""
        row = self.db.execute("SELECT response FROM requests WHERE stream = ? AND key = ?", (stream, key)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, stream: str, model: str, steps: int, h: np.ndarray, c: np.ndarray, last: list[float],
            key: str | None = None, response: dict[str, Any] | None = None) -> None:
        """The new state and, with an idempotency ``key``, the response, in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.execute("INSERT OR REPLACE INTO streams VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (stream, model, steps, h.tobytes(), c.tobytes(), json.dumps(last), time.time()))
            if key is not None:
                self.db.execute("INSERT INTO requests VALUES (?, ?, ?)", (stream, key, json.dumps(response)))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def delete(self, stream: str) -> bool:
        self.db.execute("BEGIN IMMEDIATE")
        gone = self.db.execute("DELETE FROM streams WHERE id = ?", (stream,)).rowcount > 0
        self.db.execute("DELETE FROM requests WHERE stream = ?", (stream,))
        self.db.execute("COMMIT")
        return gone

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM streams").fetchone()[0])


def create_app(checkpoint: str | Path, state: str | Path, *, api_key: str | None, max_steps: int = 10_000,
               max_bytes: int = 1_000_000) -> Any:
    """The FastAPI application serving ``checkpoint`` with stream states in the SQLite file ``state``.
    ``api_key``: required in the ``X-API-Key`` header on every route but ``/healthz`` (None: no
    check, for a server only this machine reaches); ``max_steps`` time steps and ``max_bytes`` bytes
    per request at most."""
    try:
        from fastapi import Body, FastAPI, Header, HTTPException, Request
        from fastapi.responses import JSONResponse, PlainTextResponse
    except ImportError as e:                                         # pragma: no cover - in the test extra
        raise ImportError("lstmkit serve needs FastAPI and uvicorn: pip install 'lstmkit[serve]'") from e
    if api_key is not None and (not isinstance(api_key, str) or len(api_key) < 8):
        raise ValueError("serve: the API key must be a string of at least 8 characters")
    model = StreamModel(checkpoint)
    store = StateStore(state)
    metrics = {"requests": {}, "events": 0, "seconds": 0.0, "errors": 0}
    app = FastAPI(title="lstmkit serve", version="1",
                  description=f"Recurrent state per stream for {model.path.name}: {model.inputs} inputs per event, "
                              f"{model.outputs} outputs per event.")

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        """Before anything else, on every route but /healthz: the API key, then the request's size."""
        if request.url.path != "/healthz":
            given = request.headers.get("x-api-key")
            if api_key is not None and (given is None or not hmac.compare_digest(given.encode(), api_key.encode())):
                metrics["errors"] += 1
                return JSONResponse({"detail": "a valid API key is needed in the X-API-Key header"}, status_code=401)
            size = request.headers.get("content-length")
            if size is not None and size.isdigit() and int(size) > max_bytes:
                metrics["errors"] += 1
                return JSONResponse({"detail": f"the request has {int(size)} bytes; at most {max_bytes} are accepted"},
                                    status_code=413)
        return await call_next(request)

    def count(name: str, started: float) -> None:
        metrics["requests"][name] = metrics["requests"].get(name, 0) + 1
        metrics["seconds"] += time.perf_counter() - started

    def stream_id(stream: str) -> str:
        if not STREAM_ID.match(stream):
            metrics["errors"] += 1
            raise HTTPException(422, f"stream id {stream[:40]!r} must be 1-128 characters of letters, digits, "
                                     "'_', '.', ':' or '-'")
        return stream

    def rows(body: dict[str, Any], key: str) -> np.ndarray:
        if not isinstance(body, dict) or key not in body:
            metrics["errors"] += 1
            raise HTTPException(422, f"the request body must be a JSON object with {key!r}: a list of time steps "
                                     f"of {model.inputs} numbers each")
        steps = body[key]
        if isinstance(steps, list) and len(steps) > max_steps:
            metrics["errors"] += 1
            raise HTTPException(413, f"{key} has {len(steps)} time steps; at most {max_steps} per request")
        try:
            return model.check(steps, key)
        except ValueError as e:
            metrics["errors"] += 1
            raise HTTPException(422, str(e)) from None

    @app.post("/v1/streams/{stream}/events")
    def events(stream: str, body: dict = Body(..., examples=[{"events": [[0.0] * model.inputs]}]),
               idempotency_key: str | None = Header(None, max_length=200)) -> dict:
        """Advance the stream by the new time steps; a retried request with the same
        Idempotency-Key header gets the first answer again and is not applied twice."""
        started = time.perf_counter()
        stream = stream_id(stream)
        x = rows(body, "events")
        with store.lock:
            if idempotency_key is not None:
                before = store.answered(stream, idempotency_key)
                if before is not None:
                    count("events", started)
                    return before
            known = store.get(stream)
            steps, state = (0, None) if known is None else (known[0], (known[1], known[2]))
            y, (h, c) = model.step(x, state)
            outputs = y.tolist()
            answer = {"stream": stream, "steps": steps + len(x), "outputs": outputs}
            store.put(stream, model.path.name, steps + len(x), h, c, outputs[-1], idempotency_key, answer)
        metrics["events"] += len(x)
        count("events", started)
        return answer

    @app.get("/v1/streams/{stream}")
    def show(stream: str) -> dict:
        started = time.perf_counter()
        known = store.get(stream_id(stream))
        count("show", started)
        if known is None:
            raise HTTPException(404, f"no stream {stream!r}")
        return {"stream": stream, "steps": known[0], "last_output": known[3]}

    @app.delete("/v1/streams/{stream}")
    def forget(stream: str) -> dict:
        started = time.perf_counter()
        with store.lock:
            gone = store.delete(stream_id(stream))
        count("delete", started)
        if not gone:
            raise HTTPException(404, f"no stream {stream!r}")
        return {"stream": stream, "deleted": True}

    @app.post("/v1/predict")
    def predict(body: dict = Body(..., examples=[{"sequence": [[0.0] * model.inputs]}])) -> dict:
        started = time.perf_counter()
        y, _ = model.step(rows(body, "sequence"), None)
        count("predict", started)
        return {"output": y[-1].tolist()}

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok", "model": model.path.name, "streams": store.count()}

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus() -> str:
        lines = ["# TYPE lstmkit_requests_total counter"]
        lines += [f'lstmkit_requests_total{{endpoint="{k}"}} {v}' for k, v in sorted(metrics["requests"].items())]
        lines += ["# TYPE lstmkit_events_total counter", f"lstmkit_events_total {metrics['events']}",
                  "# TYPE lstmkit_rejected_total counter", f"lstmkit_rejected_total {metrics['errors']}",
                  "# TYPE lstmkit_request_seconds_total counter",
                  f"lstmkit_request_seconds_total {metrics['seconds']:.6f}",
                  "# TYPE lstmkit_streams gauge", f"lstmkit_streams {store.count()}"]
        return "\n".join(lines) + "\n"

    app.state.model, app.state.store = model, store
    return app


__all__ = ["StateStore", "StreamModel", "create_app"]

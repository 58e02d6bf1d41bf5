"""``lstmkit serve``: an HTTP server that keeps a durable recurrent state per stream.

Each stream (a student, a patient, a ticker) has its own LSTM state. ``POST
/v1/streams/{id}/events`` advances that state by the new time steps and answers the model's output
at each, without the client resending the history. Requests for different streams that arrive
within ``batch_wait`` of each other are micro-batched: one batched LSTM call and one database
transaction for all of them (a stream's own requests stay in order). The states live in a SQLite
database (``state``), committed before any answer of the batch is sent, so a server that is killed
and restarted goes on from every event it acknowledged.

Models: the ``LastStep`` models that ``lstmkit compare --save-dir`` and ``lstmkit explain --save``
write (an LSTM encoder, one direction, and a linear head), whose output at a step is the head on
that step's LSTM output: exactly what the model answers for the sequence ending there.

Endpoints: ``POST /v1/streams/{id}/events`` {"events": [[x_1…x_I], …]} -> {"stream", "steps",
"outputs"}; ``GET /v1/streams/{id}`` -> {"stream", "steps", "last_output"}; ``DELETE
/v1/streams/{id}``; ``POST /v1/predict`` {"sequence": [[…], …]} -> {"output"} (no state);
``GET /healthz``; ``GET /metrics`` (Prometheus text); OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

import contextlib
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


    def step_many(self, xs: list[np.ndarray], states: list[tuple[np.ndarray, np.ndarray] | None]):
        """Several streams at once, one batched LSTM call (padded to the longest, each stopped at its
        own length): per stream (outputs (n_b, O), (h, c) after its last event)."""
        lengths = [len(x) for x in xs]
        x = np.zeros((len(xs), max(lengths), self.inputs), np.float32)
        for b, (row, n) in enumerate(zip(xs, lengths)):
            x[b, :n] = row
        L, _, H = self.state_shape
        h0, c0 = np.zeros((L, len(xs), H), np.float32), np.zeros((L, len(xs), H), np.float32)
        for b, state in enumerate(states):
            if state is not None:
                h0[:, b], c0[:, b] = state[0].reshape(L, H), state[1].reshape(L, H)
        with torch.no_grad():
            out, (h, c) = self.model.encoder.rnn(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)),
                                                 lengths=torch.tensor(lengths))
            y = self.model.head(out).numpy()
        h, c = h.numpy(), c.numpy()
        return [(y[b, :n], (np.ascontiguousarray(h[:, b]), np.ascontiguousarray(c[:, b])))
                for b, n in enumerate(lengths)]


class _Batcher:
    """Micro-batching: requests for different streams that arrive within ``wait`` seconds of each
    other (at most ``size``) go through one batched LSTM call and one database transaction; a
    stream's requests are applied in the order they came (one per batch)."""

    def __init__(self, model: StreamModel, store: "StateStore", wait: float, size: int, metrics: dict) -> None:
        self.model, self.store, self.wait, self.size, self.metrics = model, store, wait, size, metrics
        self.queue: Any = None
        self.task: Any = None

    async def start(self) -> None:
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        self.queue = asyncio.Queue()
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="lstmkit-batch")
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.pool.shutdown(wait=True)

    async def submit(self, stream: str, x: np.ndarray, key: str | None) -> dict[str, Any]:
        import asyncio

        future = asyncio.get_running_loop().create_future()
        await self.queue.put((stream, x, key, future))
        return await future

    async def _run(self) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        waiting: list[Any] = []
        while True:
            if not waiting:
                waiting.append(await self.queue.get())
            deadline = loop.time() + self.wait
            while True:                                   # gather what arrives within the wait
                while not self.queue.empty():
                    waiting.append(self.queue.get_nowait())
                left = deadline - loop.time()
                if left <= 0 or len({w[0] for w in waiting}) >= self.size:
                    break
                try:
                    waiting.append(await asyncio.wait_for(self.queue.get(), left))
                except asyncio.TimeoutError:
                    break
            batch, seen, rest = [], set(), []
            for item in waiting:                          # a stream's earliest request only: order kept
                if item[0] in seen or len(batch) >= self.size:
                    rest.append(item)
                else:
                    seen.add(item[0])
                    batch.append(item)
            waiting = rest
            try:
                answers = await loop.run_in_executor(self.pool, self._apply, batch)
            except Exception as e:                        # pragma: no cover - a failure reaches every caller
                for item in batch:
                    if not item[3].done():
                        item[3].set_exception(e)
                continue
            for item, answer in zip(batch, answers):
                if not item[3].done():
                    item[3].set_result(answer)

    def _apply(self, batch: list[Any]) -> list[dict[str, Any]]:
        """One batched step for the batch's streams and one transaction for their new states."""
        store, model = self.store, self.model
        with store.lock:
            answers: list[Any] = [None] * len(batch)
            todo, known = [], []
            for i, (stream, x, key, _) in enumerate(batch):
                before = store.answered(stream, key) if key is not None else None
                if before is not None:
                    answers[i] = before
                else:
                    todo.append(i)
                    known.append(store.get(stream))
            if todo:
                results = model.step_many([batch[i][1] for i in todo],
                                          [None if k is None else (k[1], k[2]) for k in known])
                rows = []
                for i, k, (y, (h, c)) in zip(todo, known, results):
                    stream, x, key, _ = batch[i]
                    steps = (0 if k is None else k[0]) + len(x)
                    outputs = y.tolist()
                    answers[i] = {"stream": stream, "steps": steps, "outputs": outputs}
                    rows.append((stream, model.path.name, steps, h, c, outputs[-1], key, answers[i]))
                store.put_many(rows)
                self.metrics["events"] += sum(len(batch[i][1]) for i in todo)
                self.metrics["batches"] += 1
                self.metrics["batched_streams"] += len(todo)
        return answers


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

    def put_many(self, rows: list[tuple[str, str, int, np.ndarray, np.ndarray, list[float], str | None, Any]]) -> None:
        """Each (stream, model, steps, h, c, last output, idempotency key or None, response): the new
        states and the keyed responses, all in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            now = time.time()
            for stream, model, steps, h, c, last, key, response in rows:
                self.db.execute("INSERT OR REPLACE INTO streams VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (stream, model, steps, np.asarray(h, np.float32).tobytes(),
                                 np.asarray(c, np.float32).tobytes(), json.dumps(last), now))
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
               max_bytes: int = 1_000_000, batch_wait: float = 0.002, batch_size: int = 256) -> Any:
    """The FastAPI application serving ``checkpoint`` with stream states in the SQLite file ``state``.
    ``api_key``: required in the ``X-API-Key`` header on every route but ``/healthz`` (None: no
    check, for a server only this machine reaches); ``max_steps`` time steps and ``max_bytes`` bytes
    per request at most; ``batch_wait`` seconds and ``batch_size`` streams bound a micro-batch
    (``batch_size=1``: one request at a time)."""
    try:
        from fastapi import Body, FastAPI, Header, HTTPException, Request
        from fastapi.responses import JSONResponse, PlainTextResponse
    except ImportError as e:                                         # pragma: no cover - in the test extra
        raise ImportError("lstmkit serve needs FastAPI and uvicorn: pip install 'lstmkit[serve]'") from e
    if api_key is not None and (not isinstance(api_key, str) or len(api_key) < 8):
        raise ValueError("serve: the API key must be a string of at least 8 characters")
    model = StreamModel(checkpoint)
    store = StateStore(state)
    if not (isinstance(batch_size, int) and batch_size >= 1) or not batch_wait >= 0:
        raise ValueError(f"serve: batch_size must be an integer >= 1 and batch_wait >= 0, got {batch_size}, {batch_wait}")
    metrics = {"requests": {}, "events": 0, "seconds": 0.0, "errors": 0, "batches": 0, "batched_streams": 0}
    batcher = _Batcher(model, store, batch_wait, batch_size, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        await batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="lstmkit serve", version="1", lifespan=lifespan,
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
    async def events(stream: str, body: dict = Body(..., examples=[{"events": [[0.0] * model.inputs]}]),
                     idempotency_key: str | None = Header(None, max_length=200)) -> dict:
        """Advance the stream by the new time steps; a retried request with the same
        Idempotency-Key header gets the first answer again and is not applied twice."""
        started = time.perf_counter()
        stream = stream_id(stream)
        x = rows(body, "events")
        answer = await batcher.submit(stream, x, idempotency_key)
        count("events", started)
        return answer

    @app.get("/v1/streams/{stream}")
    def show(stream: str) -> dict:
        started = time.perf_counter()
        with store.lock:
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
        with store.lock:
            streams = store.count()
        return {"status": "ok", "model": model.path.name, "streams": streams}

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus() -> str:
        lines = ["# TYPE lstmkit_requests_total counter"]
        lines += [f'lstmkit_requests_total{{endpoint="{k}"}} {v}' for k, v in sorted(metrics["requests"].items())]
        lines += ["# TYPE lstmkit_events_total counter", f"lstmkit_events_total {metrics['events']}",
                  "# TYPE lstmkit_rejected_total counter", f"lstmkit_rejected_total {metrics['errors']}",
                  "# TYPE lstmkit_request_seconds_total counter",
                  f"lstmkit_request_seconds_total {metrics['seconds']:.6f}",
                  "# TYPE lstmkit_batches_total counter", f"lstmkit_batches_total {metrics['batches']}",
                  "# TYPE lstmkit_batched_streams_total counter",
                  f"lstmkit_batched_streams_total {metrics['batched_streams']}"]
        with store.lock:
            lines += ["# TYPE lstmkit_streams gauge", f"lstmkit_streams {store.count()}"]
        return "\n".join(lines) + "\n"

    app.state.model, app.state.store = model, store
    return app


__all__ = ["StateStore", "StreamModel", "create_app"]

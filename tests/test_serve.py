"""lstmkit serve: per-stream state over HTTP, checked against the model run on whole sequences."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi", reason="lstmkit serve needs FastAPI (the serve extra)")
if importlib.util.find_spec("httpx2") is None and importlib.util.find_spec("httpx") is None:
    pytest.skip("FastAPI's test client needs httpx2 (or httpx)", allow_module_level=True)
from fastapi.testclient import TestClient  # noqa: E402

from lstmkit.explain.pipeline import save_task_model  # noqa: E402
from lstmkit.models.compare import LastStep  # noqa: E402
from lstmkit.serve import create_app  # noqa: E402


_OPEN: list = []


def _open(app):
    """A test client with the app's lifespan running (its micro-batcher), closed after the test."""
    client = TestClient(app)
    client.__enter__()
    _OPEN.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _OPEN:
        _OPEN.pop().__exit__(None, None, None)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = LastStep("lstm", 3, 8, 2)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.6, 0.6)
    path = tmp_path / "model.safetensors"
    save_task_model(model, "adding", 20, path)
    return model.eval(), path


def _whole(model, x: np.ndarray) -> np.ndarray:
    """The model's answer for every prefix of x (T, I): (T, O)."""
    t = torch.from_numpy(x)[None].expand(len(x), -1, -1).contiguous()
    with torch.no_grad():
        return model(t, torch.arange(1, len(x) + 1)).numpy()


def test_events_advance_each_streams_state_as_the_whole_sequence_would(saved, tmp_path):
    model, path = saved
    client = _open(create_app(path, tmp_path / "s.db", api_key=None))
    rng = np.random.default_rng(1)
    xa, xb = rng.normal(size=(9, 3)).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    got = []
    for part in (xa[:1], xa[1:5], xa[5:]):                        # uneven batches of events
        r = client.post("/v1/streams/student-1/events", json={"events": part.tolist()})
        assert r.status_code == 200, r.text
        got += r.json()["outputs"]
    rb = client.post("/v1/streams/ticker.B/events", json={"events": xb.tolist()}).json()   # another stream between
    np.testing.assert_allclose(np.array(got), _whole(model, xa), atol=1e-5)
    np.testing.assert_allclose(np.array(rb["outputs"]), _whole(model, xb), atol=1e-5)
    shown = client.get("/v1/streams/student-1").json()
    assert shown["steps"] == 9 and np.allclose(shown["last_output"], got[-1])


def test_a_restarted_server_goes_on_from_every_acknowledged_event(saved, tmp_path):
    model, path = saved
    db = tmp_path / "s.db"
    x = np.random.default_rng(2).normal(size=(7, 3)).astype(np.float32)
    first = _open(create_app(path, db, api_key=None)).post("/v1/streams/p1/events", json={"events": x[:4].tolist()}).json()
    again = _open(create_app(path, db, api_key=None))                      # a new process would open the same file
    second = again.post("/v1/streams/p1/events", json={"events": x[4:].tolist()}).json()
    assert second["steps"] == 7
    np.testing.assert_allclose(np.array(first["outputs"] + second["outputs"]), _whole(model, x), atol=1e-5)


def test_predict_delete_health_metrics_and_docs(saved, tmp_path):
    model, path = saved
    client = _open(create_app(path, tmp_path / "s.db", api_key=None))
    x = np.random.default_rng(3).normal(size=(6, 3)).astype(np.float32)
    out = client.post("/v1/predict", json={"sequence": x.tolist()}).json()["output"]
    np.testing.assert_allclose(out, _whole(model, x)[-1], atol=1e-5)
    client.post("/v1/streams/a/events", json={"events": x[:2].tolist()})
    assert client.get("/healthz").json() == {"status": "ok", "model": "model.safetensors", "streams": 1}
    assert client.delete("/v1/streams/a").json() == {"stream": "a", "deleted": True}
    assert client.get("/v1/streams/a").status_code == 404
    assert client.delete("/v1/streams/a").status_code == 404
    text = client.get("/metrics").text
    assert 'lstmkit_requests_total{endpoint="events"} 1' in text and "lstmkit_events_total 2" in text
    assert "lstmkit_streams 0" in text
    assert client.get("/docs").status_code == 200 and "/v1/streams/{stream}/events" in client.get("/openapi.json").text


@pytest.mark.parametrize("body, message", [
    ({"events": [[1.0, 2.0]]}, "time steps of 3 numbers each, got shape (1, 2)"),
    ({"events": []}, "non-empty list"),
    ({"events": [[1.0, float("nan"), 0.0]]}, "step 0, feature 1 is nan, not a finite number"),
    ({"events": "abc"}, "events must be"),
    ({"steps": [[1, 2, 3]]}, "with 'events'"),
])
def test_bad_events_get_a_422_that_names_the_problem_and_change_nothing(saved, tmp_path, body, message):
    _, path = saved
    client = _open(create_app(path, tmp_path / "s.db", api_key=None))
    r = client.post("/v1/streams/s/events", content=__import__("json").dumps(body),
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and message in r.json()["detail"]
    assert client.get("/v1/streams/s").status_code == 404


def test_bad_stream_ids_models_and_paths_are_named(saved, tmp_path):
    _, path = saved
    client = _open(create_app(path, tmp_path / "s.db", api_key=None))
    r = client.post("/v1/streams/" + "x" * 200 + "/events", json={"events": [[0, 0, 0]]})
    assert r.status_code == 422 and "1-128 characters" in r.json()["detail"]
    with pytest.raises(ValueError, match="no checkpoint file"):
        create_app(tmp_path / "missing.safetensors", tmp_path / "s.db", api_key=None)
    with pytest.raises(ValueError, match="for the state database does not exist"):
        create_app(path, tmp_path / "nope" / "s.db", api_key=None)
    gru = tmp_path / "gru.safetensors"
    save_task_model(LastStep("gru", 3, 4, 1), "adding", 20, gru)
    with pytest.raises(ValueError, match="needs a one-direction 'lstm' encoder"):
        create_app(gru, tmp_path / "s.db", api_key=None)


def test_the_command_serves_and_a_killed_server_loses_no_acknowledged_event(saved, tmp_path):
    """``lstmkit serve`` in a real process: events in, SIGKILL, a new server on the same state file
    answers the rest of the stream as the model does on the whole sequence."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    model, path = saved
    db = tmp_path / "s.db"
    x = np.random.default_rng(4).normal(size=(6, 3)).astype(np.float32)

    def start():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = tmp_path / f"server-{port}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen([sys.executable, "-m", "lstmkit.cli", "serve", str(path), "--port", str(port),
                                     "--state", str(db), "--no-auth"], stdout=subprocess.DEVNULL, stderr=err)
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    return proc, port
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        proc.kill()
        proc.wait()
        raise AssertionError(f"the server did not start: {log.read_text()[-2000:]}")

    def post(port, events):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/streams/p/events",
                                     data=json.dumps({"events": events}).encode(),
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    proc, port = start()
    try:
        first = post(port, x[:3].tolist())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    proc, port = start()
    try:
        second = post(port, x[3:].tolist())
    finally:
        proc.kill()
        proc.wait()
    assert second["steps"] == 6
    np.testing.assert_allclose(np.array(first["outputs"] + second["outputs"]), _whole(model, x), atol=1e-5)


def test_the_api_key_is_needed_everywhere_but_healthz(saved, tmp_path):
    _, path = saved
    client = _open(create_app(path, tmp_path / "s.db", api_key="s3cret-key"))
    body = {"events": [[0.1, 0.2, 0.3]]}
    for headers in ({}, {"X-API-Key": "wrong-key!"}):
        for method, url in (("post", "/v1/streams/a/events"), ("get", "/v1/streams/a"), ("get", "/metrics"),
                            ("post", "/v1/predict"), ("delete", "/v1/streams/a")):
            r = getattr(client, method)(url, headers=headers, **({"json": body} if method == "post" else {}))
            assert r.status_code == 401 and "API key" in r.json()["detail"], (method, url)
    assert client.get("/healthz").status_code == 200
    ok = client.post("/v1/streams/a/events", json=body, headers={"X-API-Key": "s3cret-key"})
    assert ok.status_code == 200 and ok.json()["steps"] == 1
    with pytest.raises(ValueError, match="at least 8 characters"):
        create_app(path, tmp_path / "s.db", api_key="short")


def test_a_retried_request_is_not_applied_twice_and_limits_hold(saved, tmp_path):
    model, path = saved
    client = _open(create_app(path, tmp_path / "s.db", api_key=None, max_steps=5, max_bytes=2000))
    x = np.random.default_rng(6).normal(size=(4, 3)).astype(np.float32)
    first = client.post("/v1/streams/s/events", json={"events": x[:2].tolist()}, headers={"Idempotency-Key": "r1"})
    retry = client.post("/v1/streams/s/events", json={"events": x[:2].tolist()}, headers={"Idempotency-Key": "r1"})
    assert retry.json() == first.json() and client.get("/v1/streams/s").json()["steps"] == 2
    more = client.post("/v1/streams/s/events", json={"events": x[2:].tolist()}, headers={"Idempotency-Key": "r2"})
    np.testing.assert_allclose(np.array(first.json()["outputs"] + more.json()["outputs"]), _whole(model, x), atol=1e-5)
    r = client.post("/v1/streams/s/events", json={"events": [[0.0, 0.0, 0.0]] * 6})
    assert r.status_code == 413 and "at most 5 per request" in r.json()["detail"]
    r = client.post("/v1/streams/s/events", json={"events": [[0.123456789, 0.0, 0.0]] * 5, "pad": "x" * 3000})
    assert r.status_code == 413 and "at most 2000 are accepted" in r.json()["detail"]
    assert client.get("/v1/streams/s").json()["steps"] == 4


def test_the_command_wants_a_key_or_no_auth(saved, tmp_path, capsys, monkeypatch):
    from lstmkit.cli import main

    _, path = saved
    monkeypatch.delenv("LSTMKIT_API_KEY", raising=False)
    assert main(["serve", str(path), "--state", str(tmp_path / "s.db")]) == 2
    assert "no API key: set LSTMKIT_API_KEY or pass --api-key-file" in capsys.readouterr().err
    assert main(["serve", str(path), "--api-key-file", str(tmp_path / "none.txt")]) == 2
    assert "--api-key-file: no file" in capsys.readouterr().err


def test_concurrent_streams_share_batched_steps_and_keep_their_order(saved, tmp_path):
    """Many threads, each its own stream sending events one request at a time, against a real
    micro-batching app: every stream's outputs are the model's on its whole sequence, and the
    batches held several streams."""
    from concurrent.futures import ThreadPoolExecutor

    model, path = saved
    client = _open(create_app(path, tmp_path / "s.db", api_key=None, batch_wait=0.01))
    rng = np.random.default_rng(7)
    data = {f"s{k}": rng.normal(size=(int(rng.integers(3, 8)), 3)).astype(np.float32) for k in range(12)}

    def run(name):
        outs = []
        for row in data[name]:
            outs += client.post(f"/v1/streams/{name}/events", json={"events": [row.tolist()]}).json()["outputs"]
        return name, outs

    with ThreadPoolExecutor(12) as pool:
        results = dict(pool.map(run, data))
    for name, x in data.items():
        np.testing.assert_allclose(np.array(results[name]), _whole(model, x), atol=1e-5)
    text = client.get("/metrics").text
    values = dict(line.split() for line in text.splitlines() if line and not line.startswith("#") and "{" not in line)
    batches, streams = int(values["lstmkit_batches_total"]), int(values["lstmkit_batched_streams_total"])
    assert streams == sum(len(x) for x in data.values()) and batches < streams       # some batches held several

"""Load test of ``lstmkit serve`` on 127.0.0.1: many concurrent streams sending events at random
intervals, the server killed with SIGKILL halfway and started again on the same state file.

Prints events/s acknowledged, p50/p99 latency, and "lost events": events acknowledged that the
restarted server's state does not hold (each stream's step count against its acknowledged
events). Every request carries an Idempotency-Key, so a request whose answer was lost in the
kill is retried without being applied twice; "applied twice" counts the opposite failure.

    python benchmarks/load_serve.py [--streams 200] [--seconds 60] [--rate 20] [--batch-size 256] [--no-kill]

Needs httpx2 (or httpx) for its async client, as the test extra installs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import httpx2 as httpx
except ModuleNotFoundError:
    import httpx
import torch

from lstmkit.explain.pipeline import save_task_model
from lstmkit.models.compare import LastStep


def start(checkpoint: Path, db: Path, port: int, batch_size: int, wait_ms: float, log: Path) -> subprocess.Popen:
    with open(log, "ab") as err:
        return subprocess.Popen([sys.executable, "-m", "lstmkit.cli", "serve", str(checkpoint), "--port", str(port),
                                 "--state", str(db), "--no-auth", "--batch-size", str(batch_size),
                                 "--batch-wait", str(wait_ms)], stdout=subprocess.DEVNULL, stderr=err)


async def wait_up(port: int, client: httpx.AsyncClient) -> None:
    for _ in range(600):
        try:
            if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit("the server did not start")


async def main_async(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="lstmkit-load-"))
    torch.manual_seed(0)
    checkpoint = tmp / "model.safetensors"
    save_task_model(LastStep("lstm", args.inputs, args.hidden, 1), "adding", 20, checkpoint)
    db, log = tmp / "streams.db", tmp / "server.log"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = {"proc": start(checkpoint, db, port, args.batch_size, args.batch_wait, log)}
    limits = httpx.Limits(max_connections=args.streams, max_keepalive_connections=args.streams)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await wait_up(port, client)
        acked = {f"s{k}": 0 for k in range(args.streams)}
        latencies: list[float] = []
        started = time.perf_counter()
        deadline = started + args.seconds

        async def stream(name: str, rng: random.Random) -> None:
            n = 0
            while time.perf_counter() < deadline:
                await asyncio.sleep(rng.expovariate(args.rate))
                event = [[rng.uniform(-1, 1) for _ in range(args.inputs)]]
                key = f"{name}-{n}"
                while True:                           # retried across the kill, same key
                    t0 = time.perf_counter()
                    try:
                        r = await client.post(f"http://127.0.0.1:{port}/v1/streams/{name}/events",
                                              json={"events": event}, headers={"Idempotency-Key": key})
                        if r.status_code == 200:
                            latencies.append(time.perf_counter() - t0)
                            acked[name] += 1
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.05)
                n += 1

        async def killer() -> None:
            await asyncio.sleep(args.seconds / 2)
            os.kill(server["proc"].pid, signal.SIGKILL)
            server["proc"].wait()
            server["proc"] = start(checkpoint, db, port, args.batch_size, args.batch_wait, log)
            print(f"killed the server (SIGKILL) at {args.seconds / 2:.0f} s and started it again", flush=True)

        tasks = [stream(name, random.Random(k)) for k, name in enumerate(acked)]
        if not args.no_kill:
            tasks.append(killer())
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        held = {}
        for name in acked:
            held[name] = (await client.get(f"http://127.0.0.1:{port}/v1/streams/{name}")).json().get("steps", 0)
    server["proc"].kill()
    server["proc"].wait()
    lost = sum(max(0, acked[k] - held[k]) for k in acked)
    twice = sum(max(0, held[k] - acked[k]) for k in acked)
    q = statistics.quantiles(latencies, n=100)
    print(f"streams {args.streams}, {elapsed:.0f} s, batch size {args.batch_size}, batch wait {args.batch_wait} ms, "
          f"H={args.hidden}, I={args.inputs}")
    print(f"events acknowledged {sum(acked.values())}: {sum(acked.values()) / elapsed:.0f} events/s; "
          f"latency p50 {1000 * q[49]:.1f} ms, p99 {1000 * q[98]:.1f} ms")
    print(f"lost events: {lost}; applied twice: {twice}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--rate", type=float, default=20, help="events per second per stream (Poisson)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--batch-wait", type=float, default=2.0, help="milliseconds")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--inputs", type=int, default=8)
    p.add_argument("--no-kill", action="store_true")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()

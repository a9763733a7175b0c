"""Load and latency benchmarks of the game server, against a real daphne process.

Starts the server on a free loopback port with its own embedded database (or the
DATABASE_URL/REDIS_URL of the environment), seeds one game, then runs bounded request loops
with a fixed concurrency and prints requests per second and latency percentiles per route.
Only 127.0.0.1 is ever contacted; every loop has a fixed request count and a time limit.

    make bench                       # or: .venv/bin/python bench/run_all.py --requests 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, local_dir: str, log) -> subprocess.Popen:
    env = {**os.environ, "LOCAL_DIR": local_dir, "AI_OFFLINE_DELAY": "0", "LOG_LEVEL": "WARNING"}
    env.setdefault("GAME_RATE", "")
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return subprocess.Popen(
        [python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                if (await client.get(f"{base}/api/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def run_route(client, name, make_request, total: int, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    deadline = time.monotonic() + TIME_LIMIT

    async def worker():
        nonlocal errors
        for index in counter:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            response = await make_request(client, index)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "route": name,
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
    }


async def ws_broadcast(base_ws: str, session_id: str, rounds: int) -> dict:
    """Latency from one client's user_message to the other client seeing the assistant reply
    (offline provider, no delay): store, broadcast, AI turn, store, broadcast."""
    url = f"{base_ws}/ws?sessionId={session_id}"
    latencies = []
    async with websockets.connect(url) as sender, websockets.connect(url) as watcher:
        for index in range(rounds):
            started = time.perf_counter()
            await sender.send(json.dumps({"action": "user_message", "content": f"step {index}"}))
            while True:
                frame = json.loads(await asyncio.wait_for(watcher.recv(), 10))
                if frame.get("kind") == "chat" and frame.get("role") == "assistant":
                    break
            latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return {
        "route": "ws user_message -> assistant",
        "requests": rounds,
        "errors": 0,
        "rps": round(rounds / (sum(latencies) / 1000), 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
    }


async def main(total: int, concurrency: int) -> list[dict]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = ROOT / ".local" / "bench-server.log"
    log_path.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as local_dir, log_path.open("w") as log:
        server = start_server(port, local_dir, log)
        try:
            await wait_ready(base)
            limits = httpx.Limits(max_connections=concurrency)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                created = await client.post(
                    "/api/games/1/characters", json={"userId": 1, "name": "Bench", "class": "bard"}
                )
                session = await client.post(
                    "/api/session/start",
                    json={"gameId": 1, "userId": 1, "characterId": created.json()["id"]},
                )
                sid = session.json()["sessionId"]
                for i in range(200):
                    await client.post(
                        "/api/messages", json={"sessionId": sid, "role": "user", "content": f"m{i}"}
                    )
                results = [
                    await run_route(
                        client,
                        "POST /api/messages",
                        lambda c, i: c.post(
                            "/api/messages",
                            json={"sessionId": sid, "role": "user", "content": f"load {i}"},
                        ),
                        total,
                        concurrency,
                    ),
                    await run_route(
                        client,
                        "GET /api/messages?afterId",
                        lambda c, i: c.get(
                            "/api/messages", params={"sessionId": sid, "afterId": 150}
                        ),
                        total,
                        concurrency,
                    ),
                    await run_route(
                        client,
                        "GET /api/characters/:id",
                        lambda c, i: c.get(f"/api/characters/{created.json()['id']}"),
                        total,
                        concurrency,
                    ),
                    await run_route(
                        client,
                        "POST /api/ai/dialogue (offline)",
                        lambda c, i: c.post(
                            "/api/ai/dialogue",
                            json={
                                "sessionId": sid,
                                "history": [{"role": "user", "content": f"{i}"}],
                            },
                        ),
                        max(50, total // 10),
                        concurrency,
                    ),
                ]
            results.append(await ws_broadcast(f"ws://127.0.0.1:{port}", sid, 50))
            return results
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    rows = asyncio.run(main(args.requests, args.concurrency))
    db = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    print(f"database={db} requests={args.requests} concurrency={args.concurrency}")
    print(f"{'route':38} {'n':>6} {'err':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for row in rows:
        print(
            f"{row['route']:38} {row['requests']:>6} {row['errors']:>4} {row['rps']:>8} "
            f"{row['p50_ms']:>8} {row['p95_ms']:>8}"
        )

"""The serving path against stock Django, on each database shape, through the production server.

For each shape (SQLite; PostgreSQL; PostgreSQL with Redis, as production runs) this starts two
processes through the production entry point (`python -m config.serve_uvicorn`), both pinned
to core 0 with taskset when the machine has two cores or more: the API (`config.asgi`, the
production application, unchanged) and its baseline (bench/asgi.py: stock Django with no
middleware, the bare views of bench/bare.py doing the same queries, Django's own connection
pool; with Redis, one pipelined INCR + EXPIRE per request on a shared pool). wrk, pinned to
core 1, drives one route at a time, alternating API and baseline, --runs times for --duration
seconds each; the medians are printed beside each other, the ratio last.

    make bench                                   # or: .venv/bin/python bench/serving.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aistory_bench \
      REDIS_URL=redis://127.0.0.1:6379/3 SECRET_KEY=bench-only .venv/bin/python bench/serving.py

The shapes default to SQLite plus whatever DATABASE_URL and REDIS_URL make possible
(--shapes sqlite,postgresql,postgresql+redis picks). Only 127.0.0.1 is contacted; every wrk
run is bounded by --duration and every server is stopped at the end. The game throttle stays
on, with a limit too high to trip.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from scratch_db import ensure_database  # bench/, this script's directory

ROOT = Path(__file__).resolve().parent.parent
API_APP = "config.asgi:application"
BARE_APP = "bench.asgi:application"
BARE_SETTINGS = "bench.bare_settings"
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
SHAPES = ("sqlite", "postgresql", "postgresql+redis")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(name: str, port: int, workers: int, app: str) -> list[str]:
    py, host = sys.executable, "127.0.0.1"
    if name == "uvicorn":
        # The production entry point: uvicorn with the project's WebSocket limits.
        return [
            py, "-m", "config.serve_uvicorn", "-b", host, "-p", str(port),
            "--workers", str(workers), "-v", "0", app,
        ]  # fmt: skip
    if name == "daphne":
        if workers != 1:
            raise SystemExit("daphne serves one process per port; use uvicorn")
        # Plain daphne, unpatched, as Channels' runserver uses it: a comparison only.
        return [py, "-m", "daphne", "-b", host, "-p", str(port), "-v", "0", app]
    raise SystemExit(f"unknown server {name}")


def pin(command: list[str], cores: str) -> list[str]:
    return ["taskset", "-c", cores, *command] if PINNED else command


def wait_ready(base: str, server: subprocess.Popen) -> None:
    """Return once the server answers HTTP at all (the baseline has no /api/health: a 404)."""
    for _ in range(600):
        if server.poll() is not None:
            raise RuntimeError("server exited; see .local/bench-serving.log")
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


def wrk(url: str, duration: float, connections: int, script: str | None, pinned: bool) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s"]
    if script:
        command += ["-s", script]
    command.append(url)
    done = subprocess.run(
        pin(command, "1") if pinned else command,
        capture_output=True,
        text=True,
        timeout=duration + 30,
    )
    out = done.stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no rate: {out}{done.stderr}")
    rps = float(found.group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"rps": rps, "errors": errors}


def post_script(directory: str, body: dict) -> str:
    path = Path(directory) / "post.lua"
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    return str(path)


def routes(seed: dict, directory: str) -> list[tuple[str, str, str, str | None]]:
    """(name, API path, bare path, wrk script)."""
    char, sid = seed["character_id"], seed["list_session"]
    post = post_script(directory, seed["post_body"])
    return [
        ("GET /api/characters/:id", f"/api/characters/{char}",
         f"/bench/bare/characters/{char}", None),
        ("GET /api/messages (50 rows)", f"/api/messages?sessionId={sid}",
         f"/bench/bare/messages?sessionId={sid}", None),
        ("POST /api/messages", "/api/messages", "/bench/bare/messages", post),
    ]  # fmt: skip


def start(name: str, app: str, env: dict, log, workers: int, pinned: bool):
    """One server process on a free port, in a session of its own; (process, base URL)."""
    port = free_port()
    command = server_command(name, port, workers, app)
    server = subprocess.Popen(
        pin(command, "0") if pinned else command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return server, f"http://127.0.0.1:{port}"


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, 15)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, 9)
        server.wait()


def measure(name: str, env: dict, seed: dict, directory: str, args, log, workers, pinned) -> dict:
    """Medians of API and baseline for each route, from two processes serving side by side.

    Only one of the two is under load at a time; both sit on the same core, so each run gets
    the core the other leaves idle.
    """
    bare_env = {**env, "DJANGO_SETTINGS_MODULE": BARE_SETTINGS}
    servers = {
        "api": start(name, API_APP, env, log, workers, pinned),
        "bare": start(name, BARE_APP, bare_env, log, workers, pinned),
    }
    results = {}
    try:
        for server, base in servers.values():
            wait_ready(base, server)
        for route, api, bare, script in routes(seed, directory):
            urls = {"api": servers["api"][1] + api, "bare": servers["bare"][1] + bare}
            for url in urls.values():  # warm up: imports, first connections
                wrk(url, 1, args.connections, script, pinned)
            samples = {"api": [], "bare": []}
            for run in range(args.runs):
                order = ("api", "bare") if run % 2 == 0 else ("bare", "api")
                for which in order:
                    samples[which].append(
                        wrk(urls[which], args.duration, args.connections, script, pinned)
                    )
            results[route] = {
                which: {
                    "rps": statistics.median(s["rps"] for s in runs),
                    "errors": sum(s["errors"] for s in runs),
                }
                for which, runs in samples.items()
            }
    finally:
        for server, _ in servers.values():
            stop(server)
    return results


def shape_environment(shape: str, directory: str) -> dict:
    """The servers' environment for one shape: the caller's, less what the shape leaves out."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    if shape != "sqlite":
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    if shape == "postgresql+redis":
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return {
        # The allocator `make run` serves with (the Makefile's SERVE_ENV), for both processes.
        "MALLOC_ARENA_MAX": "2",
        "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0",
        **env,
        "LOCAL_DIR": str(Path(directory) / shape),
        "AI_OFFLINE_DELAY": "0",
        "LOG_LEVEL": "WARNING",
        "GAME_RATE": os.environ.get("GAME_RATE") or "100000000/min",
    }


def default_shapes() -> str:
    shapes = ["sqlite"]
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        shapes.append("postgresql")
        if os.environ.get("REDIS_URL"):
            shapes.append("postgresql+redis")
    return ",".join(shapes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=default_shapes(), help=",".join(SHAPES))
    parser.add_argument("--servers", default="uvicorn", help="uvicorn (production), daphne")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--workers",
        default="1",
        help="processes on the one port; a list (1,2) measures scaling, unpinned",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `apt-get install wrk` (make bench installs it)")
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    for shape in shapes:
        if shape not in SHAPES:
            raise SystemExit(f"unknown shape {shape}: one of {', '.join(SHAPES)}")
        if shape != "sqlite" and not os.environ.get("DATABASE_URL"):
            raise SystemExit(f"the {shape} shape needs DATABASE_URL (a scratch database)")
        if shape.endswith("redis") and not os.environ.get("REDIS_URL"):
            raise SystemExit(f"the {shape} shape needs REDIS_URL")
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    # One process per server: pinned to core 0, wrk to core 1. Several worker counts: the
    # servers may use both cores, so nothing is pinned, for every count alike.
    pinned = PINNED and counts == [1]
    if any(n != 1 for n in counts) and shapes != ["postgresql+redis"]:
        # config.serve_uvicorn refuses workers without a shared channel layer and cache.
        raise SystemExit("--workers above 1 needs --shapes postgresql+redis")
    log_path = ROOT / ".local" / "bench-serving.log"
    log_path.parent.mkdir(exist_ok=True)
    py = sys.executable
    ensure_database(os.environ.get("DATABASE_URL", ""))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"commit {commit or '?'}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    with tempfile.TemporaryDirectory() as directory, log_path.open("w") as log:
        for shape in shapes:
            env = shape_environment(shape, directory)
            subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            seeded = subprocess.run(
                [py, "-m", "bench.seed"], cwd=ROOT, env=env, check=True, capture_output=True,
                text=True,
            )  # fmt: skip
            seed = json.loads(seeded.stdout.strip().splitlines()[-1])
            results = {
                (name, n): measure(name, env, seed, directory, args, log, n, pinned)
                for n in counts
                for name in servers
            }
            report(shape, results, seed, args, counts, pinned)


def report(shape, results: dict, seed: dict, args, counts: list[int], pinned: bool) -> None:
    print(
        f"\ndatabase={shape} workers={args.workers} wrk -t1 -c{args.connections} "
        f"-d{args.duration:g}s, median of {args.runs}, servers "
        f"{'pinned to core 0, wrk to core 1' if pinned else 'not pinned'}"
    )
    print(f"\n{'route':28} {'queries api/bare':>16}")
    for route, (api_q, bare_q) in seed["queries"].items():
        print(f"{route:28} {api_q:>9} / {bare_q:<4}")
    print(
        f"\n{'server':8} {'w':>2} {'route':28} {'bare req/s':>10} {'api req/s':>10} "
        f"{'err':>4} {'ratio':>6}"
    )
    for (name, n), rows in results.items():
        for route, row in rows.items():
            errors = row["api"]["errors"] + row["bare"]["errors"]
            ratio = row["api"]["rps"] / row["bare"]["rps"]
            print(
                f"{name:8} {n:>2} {route:28} {row['bare']['rps']:>10.1f} "
                f"{row['api']['rps']:>10.1f} {errors:>4} {ratio:>6.2f}"
            )
    if len(counts) > 1:
        first = counts[0]
        print(f"\nscaling: each figure against the same server with {first} worker(s)")
        print(f"{'server':8} {'w':>2} {'route':28} {'api req/s':>10} {'api x':>6} {'bare x':>6}")
        for (name, n), rows in results.items():
            if n == first:
                continue
            for route, row in rows.items():
                base = results[(name, first)][route]
                print(
                    f"{name:8} {n:>2} {route:28} {row['api']['rps']:>10.1f} "
                    f"{row['api']['rps'] / base['api']['rps']:>6.2f} "
                    f"{row['bare']['rps'] / base['bare']['rps']:>6.2f}"
                )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

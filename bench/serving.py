"""The serving path against bare Django, and ASGI servers against each other.

For each server (daphne through `python -m config.serve`, uvicorn, granian; one process
unless --workers) this starts it on a free loopback port with bench/asgi.py (the project's
application plus bare Django views of the same queries, bench/bare.py), pinned to core 0
with taskset when the machine has two cores or more, and drives it with wrk pinned to
core 1. For each route it alternates the API and its bare view, --runs times for
--duration seconds each, and takes the medians. It prints every figure beside its baseline
from the same run, the ratio last, then each server against daphne.

    make bench                                   # or: .venv/bin/python bench/serving.py
    .venv/bin/python bench/serving.py --servers daphne --runs 1 --duration 3

Only 127.0.0.1 is contacted; every wrk run is bounded by --duration and every server is
stopped at the end. The game throttle stays on, with a limit too high to trip.
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
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = "bench.asgi:application"
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(name: str, port: int, workers: int) -> list[str]:
    py, host = sys.executable, "127.0.0.1"
    if name == "daphne":
        if workers != 1:
            raise SystemExit("daphne serves one process per port; use uvicorn or granian")
        # -v 0: no access log, as the other two are started.
        return [py, "-m", "config.serve", "-b", host, "-p", str(port), "-v", "0", APP]
    if name == "uvicorn":
        # The production entry point: uvicorn with the project's WebSocket limits.
        return [
            py, "-m", "config.serve_uvicorn", "-b", host, "-p", str(port),
            "--workers", str(workers), "-v", "0", APP,
        ]  # fmt: skip
    if name == "granian":
        return [
            py, "-m", "granian", "--interface", "asgi", "--host", host, "--port", str(port),
            "--workers", str(workers), "--no-access-log", "--log-level", "warning", APP,
        ]  # fmt: skip
    raise SystemExit(f"unknown server {name}")


def pin(command: list[str], cores: str) -> list[str]:
    return ["taskset", "-c", cores, *command] if PINNED else command


def wait_ready(base: str, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError("server exited; see .local/bench-serving.log")
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2) as answer:
                if answer.status == 200:
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


def measure(
    name: str, env: dict, seed: dict, directory: str, args, log, workers: int, pinned: bool
) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = server_command(name, port, workers)
    server = subprocess.Popen(
        pin(command, "0") if pinned else command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    results = {}
    try:
        wait_ready(base, server)
        for route, api, bare, script in routes(seed, directory):
            for path in (api, bare):  # warm up: imports, first connections
                wrk(base + path, 1, args.connections, script, pinned)
            samples = {"api": [], "bare": []}
            for run in range(args.runs):
                order = ("api", "bare") if run % 2 == 0 else ("bare", "api")
                for which in order:
                    path = api if which == "api" else bare
                    samples[which].append(
                        wrk(base + path, args.duration, args.connections, script, pinned)
                    )
            results[route] = {
                which: {
                    "rps": statistics.median(s["rps"] for s in runs),
                    "errors": sum(s["errors"] for s in runs),
                }
                for which, runs in samples.items()
            }
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
    return results


def ensure_database(url: str) -> None:
    """Create the scratch PostgreSQL database DATABASE_URL names when it does not exist."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if found.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="daphne,uvicorn,granian")
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
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    # One process per server: pinned to core 0, wrk to core 1. Several worker counts: the
    # servers may use both cores, so nothing is pinned, for every count alike.
    pinned = PINNED and counts == [1]
    if any(n != 1 for n in counts) and not os.environ.get("REDIS_URL"):
        # config.serve_uvicorn refuses workers without a shared channel layer and cache.
        raise SystemExit("--workers above 1 needs REDIS_URL (e.g. redis://127.0.0.1:6379/3)")
    if "daphne" in servers and any(n != 1 for n in counts):
        servers.remove("daphne")  # one process per port; it is measured with one worker only
        if not servers:
            raise SystemExit("daphne serves one process per port; use uvicorn or granian")
    log_path = ROOT / ".local" / "bench-serving.log"
    log_path.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as directory, log_path.open("w") as log:
        env = {
            **os.environ,
            "LOCAL_DIR": directory,
            "AI_OFFLINE_DELAY": "0",
            "LOG_LEVEL": "WARNING",
            "GAME_RATE": os.environ.get("GAME_RATE") or "100000000/min",
        }
        py = sys.executable
        ensure_database(os.environ.get("DATABASE_URL", ""))
        subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        seeded = subprocess.run(
            [py, "-m", "bench.seed"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        seed = json.loads(seeded.stdout.strip().splitlines()[-1])
        results = {
            (name, n): measure(name, env, seed, directory, args, log, n, pinned)
            for n in counts
            for name in servers
        }
    report(results, seed, args, counts, pinned)


def report(results: dict, seed: dict, args, counts: list[int], pinned: bool) -> None:
    database = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
    print(
        f"database={database} workers={args.workers} wrk -t1 -c{args.connections} "
        f"-d{args.duration:g}s, median of {args.runs}, server "
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
    if ("daphne", 1) in results and len(results) > 1:
        print(f"\n{'server':8} {'route (API)':28} {'daphne':>10} {'req/s':>10} {'ratio':>6}")
        for (name, n), rows in results.items():
            if name == "daphne" or n != 1:
                continue
            for route, row in rows.items():
                base_rps = results[("daphne", 1)][route]["api"]["rps"]
                print(
                    f"{name:8} {route:28} {base_rps:>10.1f} {row['api']['rps']:>10.1f} "
                    f"{row['api']['rps'] / base_rps:>6.2f}"
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


if __name__ == "__main__":
    main()

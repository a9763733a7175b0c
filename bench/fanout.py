"""Socket fan-out: one game session's `user_message` reaching 1, 100 and 500 sockets.

    REDIS_URL=redis://127.0.0.1:6379/5 SECRET_KEY=bench-only \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aistory_fanout \\
      .venv/bin/python bench/fanout.py            # --clients 1,100,500 --processes 1,2
                                                  # --stream-clients 1,100 --layers core,pubsub
                                                  # --servers uvicorn,daphne
                                                  # --rounds 100

For each channel layer (`core`: the settings' channels_redis layer; `pubsub`: channels_redis's
pub/sub layer, through bench/fanout_settings.py), each server (`--servers`: uvicorn through
`python -m config.serve_uvicorn`, production's; daphne through `python -m config.serve`) and
each number of server processes (each on its own loopback port, all sharing Redis, pinned to
core 0 when there are two cores; with `--spread` process i on core i and the load generator
unpinned), it starts the servers on the scratch database (migrated
here; without DATABASE_URL an embedded SQLite file), seeds one session per measurement, and
runs the load generator (bench/fanout_load.py, pinned to core 1) once per client count:
the clients connect in one burst, split round-robin over the processes, then client 0 sends
a `user_message` per round. Printed, per measurement: the time from the send to the user's
`chat` frame at the last client (p50, p99, max over the rounds), the same to the assistant's
reply, the handshake p99 of the burst, frames counted, lost and extra; then the same session
with `stream=1` sockets: the time until the last socket has the whole reply (every delta and
the final frame), and whether the deltas joined equal the reply. The targets of issue 10
(item 5) close the output, each figure beside its baseline from the same run.

The offline provider answers with no delay (AI_OFFLINE_DELAY=0); the game and AI-turn
limits are off. Only 127.0.0.1 is contacted; every round has a deadline and every server is
stopped by the script. Server logs go to .local/bench-fanout.log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
APP = os.environ.get("FANOUT_APP", "config.asgi:application")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin(command: list[str], cores: str) -> list[str]:
    return ["taskset", "-c", cores, *command] if PINNED else command


def ensure_database(url: str) -> None:
    """Create the scratch PostgreSQL database when it is missing (migrate does the rest)."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    if name in ("aistory", "test_aistory"):
        raise SystemExit("use a scratch database for the benchmark, not the project's")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def wait_ready(port: int, server: subprocess.Popen) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError("server exited; see .local/bench-fanout.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start")


# The project's two entry points: uvicorn (production, `make run`) and daphne.
SERVER_MODULES = {"uvicorn": "config.serve_uvicorn", "daphne": "config.serve"}


def start_servers(
    name: str, count: int, env: dict, log, spread: bool = False
) -> tuple[list[subprocess.Popen], list[int]]:
    """`count` server processes, all on core 0, or with `spread` process i on core i (as
    `--workers` would run them, one per core)."""
    servers, ports = [], []
    py = sys.executable
    for index in range(count):
        port = free_port()
        module = SERVER_MODULES[name]
        command = [py, "-m", module, "-b", "127.0.0.1", "-p", str(port), "-v", "0", APP]
        servers.append(
            subprocess.Popen(
                pin(command, str(index % (os.cpu_count() or 1)) if spread else "0"),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        ports.append(port)
    for server, port in zip(servers, ports, strict=True):
        wait_ready(port, server)
    return servers, ports


def stop_servers(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
    for server in servers:
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def load(job: dict, spread: bool = False) -> dict:
    command = [sys.executable, str(ROOT / "bench" / "fanout_load.py"), json.dumps(job)]
    command = command if spread else pin(command, "1")  # spread: the servers have the cores
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def summary(result: dict, key: str) -> dict:
    values = [r[key] for r in result["rounds"] if r[key] is not None]
    missing = len(result["rounds"]) - len(values)
    if not values:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "missing": missing}
    return {
        "p50": statistics.median(values),
        "p99": percentile(values, 0.99),
        "max": max(values),
        "missing": missing,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,100,500")
    parser.add_argument("--stream-clients", default="1,100")
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--layers", default="core,pubsub")
    parser.add_argument("--servers", default="uvicorn,daphne", help="uvicorn, daphne or both")
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--stream-rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--spread",
        action="store_true",
        help="pin server process i to core i (one per core, as --workers runs them) and leave "
        "the load generator unpinned, instead of every server on core 0 and the load on core 1",
    )
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        raise SystemExit("set REDIS_URL (fan-out across processes goes through Redis)")
    clients = [int(n) for n in args.clients.split(",") if n]
    stream_clients = [int(n) for n in args.stream_clients.split(",") if n]
    processes = [int(n) for n in args.processes.split(",") if n]
    layers = [name for name in args.layers.split(",") if name]
    server_names = [name for name in args.servers.split(",") if name]
    if unknown := set(server_names) - set(SERVER_MODULES):
        raise SystemExit(f"unknown server(s): {', '.join(sorted(unknown))}")
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        ensure_database(database_url)
    log_path = ROOT / ".local" / "bench-fanout.log"
    log_path.parent.mkdir(exist_ok=True)
    rows, stream_rows = [], []
    with tempfile.TemporaryDirectory() as directory, log_path.open("w") as log:
        env = {
            **os.environ,
            "LOCAL_DIR": directory,
            "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only",
            "DJANGO_SETTINGS_MODULE": "bench.fanout_settings",
            # A prefix of its own: no group of an earlier run, or of anything else, is met.
            "CHANNEL_PREFIX": f"fanout-{uuid.uuid4().hex[:8]}",
            "AI_OFFLINE_DELAY": "0",
            "LOG_LEVEL": "WARNING",
            "GAME_RATE": "",
            "AI_TURN_RATE": "",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        py = sys.executable
        subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        needed = (
            len(server_names) * len(layers) * len(processes) * (len(clients) + len(stream_clients))
        )
        seeded = subprocess.run(
            [py, "-m", "bench.fanout_seed", str(needed)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        sessions = iter(json.loads(seeded.stdout.strip().splitlines()[-1])["sessions"])
        setups = [(n, layer, c) for n in server_names for layer in layers for c in processes]
        for server_name, layer, count in setups:
            servers, ports = start_servers(
                server_name, count, {**env, "FANOUT_LAYER": layer}, log, args.spread
            )
            urls = [f"ws://127.0.0.1:{port}" for port in ports]
            try:
                for stream, sizes, rounds, into in (
                    (False, clients, args.rounds, rows),
                    (True, stream_clients, args.stream_rounds, stream_rows),
                ):
                    for size in sizes:
                        job = {
                            "urls": urls,
                            "session": next(sessions),
                            "clients": size,
                            "stream": stream,
                            "rounds": rounds,
                            "warmup": args.warmup,
                            "tag": f"{server_name}-{layer}-{count}-{size}-{int(stream)}",
                        }
                        began = time.monotonic()
                        result = load(job, args.spread)
                        into.append(
                            {
                                "server": server_name,
                                "layer": layer,
                                "procs": count,
                                "n": size,
                                **result,
                            }
                        )
                        print(
                            f"# {job['tag']}: {time.monotonic() - began:.0f} s",
                            file=sys.stderr,
                            flush=True,
                        )
                        time.sleep(1)  # the sockets leave their groups
            finally:
                stop_servers(servers)
    report(rows, stream_rows, args, bool(database_url))


def report(rows: list[dict], stream_rows: list[dict], args, postgres: bool) -> None:
    print(
        f"database={'postgresql' if postgres else 'sqlite'} redis layer per row, offline provider "
        f"without delay, {args.rounds} rounds ({args.stream_rounds} with stream=1) after "
        f"{args.warmup} warm-up; servers "
        + (
            "not pinned"
            if not PINNED
            else "process i pinned to core i, load generator unpinned"
            if args.spread
            else "pinned to core 0, load generator to core 1"
        )
    )
    print("\nuser_message -> the user's chat frame at the last client, ms")
    head = (
        f"{'server':7} {'layer':7} {'procs':>5} {'clients':>7} {'p50':>7} {'p99':>7} {'max':>7} "
        f"{'reply p50':>9} {'conn p99':>8} {'frames':>7} {'lost':>5} {'extra':>5} "
        f"{'p99/p99(1)':>10}"
    )
    print(head)
    base: dict[tuple, float] = {}
    for row in rows:
        user, reply = summary(row, "user_ms"), summary(row, "final_ms")
        key = (row["server"], row["layer"], row["procs"])
        if row["n"] == 1:
            base[key] = user["p99"]
        ratio = user["p99"] / base[key] if key in base else float("nan")
        row["summary"] = user
        print(
            f"{row['server']:7} {row['layer']:7} {row['procs']:>5} {row['n']:>7} "
            f"{user['p50']:>7.1f} "
            f"{user['p99']:>7.1f} {user['max']:>7.1f} {reply['p50']:>9.1f} "
            f"{percentile(row['connect_ms'], 0.99):>8.1f} {row['frames']:>7} "
            f"{row['lost']:>5} {row['extra']:>5} {ratio:>10.2f}"
        )
    print("\nuser_message -> the whole reply (every delta, then the final frame) at the last")
    print("stream=1 socket, ms")
    print(
        f"{'server':7} {'layer':7} {'procs':>5} {'sockets':>7} {'p50':>7} {'p99':>7} {'max':>7} "
        f"{'deltas/reply':>12} {'frames':>7} {'lost':>5} {'broken':>6} {'p50/p50(1)':>10}"
    )
    stream_base: dict[tuple, float] = {}
    for row in stream_rows:
        whole = summary(row, "final_ms")
        key = (row["server"], row["layer"], row["procs"])
        if row["n"] == 1:
            stream_base[key] = whole["p50"]
        ratio = whole["p50"] / stream_base[key] if key in stream_base else float("nan")
        row["summary"] = whole
        replies = max(1, len(row["rounds"]) * row["n"])
        print(
            f"{row['server']:7} {row['layer']:7} {row['procs']:>5} {row['n']:>7} "
            f"{whole['p50']:>7.1f} "
            f"{whole['p99']:>7.1f} {whole['max']:>7.1f} {row['deltas'] / replies:>12.1f} "
            f"{row['frames']:>7} {row['lost']:>5} {row['broken']:>6} {ratio:>10.2f}"
        )
    print("\ntargets (issue 10, item 5), per server, layer and process count")
    for setup in dict.fromkeys((r["server"], r["layer"], r["procs"]) for r in rows):
        server, layer, procs = setup
        mine = {r["n"]: r for r in rows if (r["server"], r["layer"], r["procs"]) == setup}
        streams = {r["n"]: r for r in stream_rows if (r["server"], r["layer"], r["procs"]) == setup}
        checks = []
        if 1 in mine:
            p50 = mine[1]["summary"]["p50"]
            checks.append(f"1-client p50 {p50:.1f} ms < 10: {verdict(p50 < 10)}")
        if 1 in mine and 500 in mine:
            one, many = mine[1]["summary"]["p99"], mine[500]["summary"]["p99"]
            checks.append(f"500-client p99 {many:.1f} <= 5 x {one:.1f}: {verdict(many <= 5 * one)}")
        if 1 in streams and 100 in streams:
            one, many = streams[1]["summary"]["p50"], streams[100]["summary"]["p50"]
            checks.append(
                f"100 stream=1 p50 {many:.1f} <= 2 x {one:.1f}: {verdict(many <= 2 * one)}"
            )
        lost = sum(r["lost"] for r in [*mine.values(), *streams.values()])
        broken = sum(r["broken"] for r in streams.values())
        checks.append(f"lost {lost}, broken {broken}: {verdict(lost == broken == 0)}")
        print(f"{server:7} {layer:7} procs={procs}: " + "; ".join(checks))


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    main()

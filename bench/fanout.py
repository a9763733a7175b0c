"""Socket fan-out: one game session's `user_message` reaching 1, 100, 500 and 10,000 sockets.

    REDIS_URL=redis://127.0.0.1:6379/5 SECRET_KEY=bench-only \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aistory_fanout \\
      .venv/bin/python bench/fanout.py            # --clients 1,100,500 --stream-clients 1,100
                                                  # --processes 1 --layers pubsub
                                                  # --gc-variants as-is --rounds 40
                                                  # --many 10000 --many-workers 2
                                                  # --many-load 4 --many-rounds 20

Part one, per channel layer (`pubsub`: the settings' channels_redis pub/sub layer; `core`:
channels_redis's core layer, through bench/fanout_settings.py), collector variant
(`GC_VARIANTS`) and number of server processes (each on its own loopback port, all sharing
Redis, pinned to core 0 when there are two cores; with `--spread` process i on core i and
the load unpinned): the servers start through the production entry point
(`python -m config.serve_uvicorn`) on the scratch database (migrated here; without
DATABASE_URL an embedded SQLite file), one session is seeded per measurement, and the load
(bench/fanout_fleet.py driving bench/fanout_load.py, pinned to core 1) runs once per client
count: the clients connect in one burst, then client 0 sends a `user_message` per round.
Printed: the time from the send to the user's `chat` frame at the last client (p50, p99,
max), to the assistant's reply, the handshake p99, frames counted, lost and extra; the same
session with `stream=1` sockets (the time until the last socket has the whole reply, and
whether the deltas joined equal it); the servers' garbage collections during each burst
and during the rounds (bench/fanout_probe.py, the bench's own ASGI wrapper: a
`gc.callbacks` entry); the targets of issues 10 and 19, each beside its baseline from the
same run.

Part two (`--many`, on PostgreSQL only): one server of `--many-workers` processes on one
port, unpinned, as a host runs it; first one socket (the baseline), then `--many` sockets
from `--many-load` load processes. Printed: resident memory per idle socket (the workers'
RSS after the handshakes minus before, over the count), the time for the handshakes, the
broadcast's time at the last socket (p50, p99) against one socket's, frames lost, the full
collections meanwhile. The script, its load processes and its servers raise their limit of
open files to the hard limit.

The offline provider answers with no delay (AI_OFFLINE_DELAY=0); the game and AI-turn
limits are off; the servers get the allocator environment `make run` sets. Only 127.0.0.1
is contacted; every round has a deadline and every server is stopped by the script. Server
logs go to .local/bench-fanout.log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import fanout_fleet as fleet  # bench/, this script's directory
from scratch_db import ensure_database  # bench/, likewise

ROOT = Path(__file__).resolve().parent.parent
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
# The production application behind the collector probe (bench/fanout_probe.py: a
# gc.callbacks entry and nothing else on the path of a request or a frame).
APP = os.environ.get("FANOUT_APP", "bench.fanout_probe:application")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin(command: list[str], cores: str) -> list[str]:
    return ["taskset", "-c", cores, *command] if PINNED else command


def raise_file_limit() -> int:
    """Raise this process's limit of open files to its hard limit (a socket is a file);
    returns the limit now in force. The servers start with it raised too (their `preexec_fn`),
    and the load processes raise their own."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def wait_ready(port: int, server: subprocess.Popen) -> None:
    for _ in range(600):
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


@dataclass(frozen=True)
class Setup:
    """What serves one group of measurements: the channel layer, the collector's variant
    (`GC_VARIANTS`), and either `procs` servers of one process each (own ports) or one server
    of `workers` processes on one port (uvicorn's `--workers`, as production runs several)."""

    layer: str
    gc: str = "as-is"
    procs: int = 1
    workers: int = 1

    @property
    def shape(self) -> str:
        return f"w={self.workers}" if self.workers > 1 else f"p={self.procs}"


# The collector's variants (bench/fanout_probe.py): production's (config/startup.py: the
# start-up objects frozen, Python's thresholds), full collections at a tenth and at a
# hundredth of Python's rate (issue 19 measured them; each lets the SSE relay's memory grow,
# bench/README.md), and nothing frozen.
GC_VARIANTS = {
    "as-is": {},
    "tenth": {"FANOUT_GC_THRESHOLD": "2000,10,100"},
    "hundredth": {"FANOUT_GC_THRESHOLD": "2000,10,1000"},
    # Python 3.12's young thresholds with the oldest generation's at 100: full collections at
    # about 2/7 of Python 3.13's rate (2000, 10, 10), young ones more often.
    "tenth-700": {"FANOUT_GC_THRESHOLD": "700,10,100"},
    "none": {"FANOUT_GC_UNFREEZE": "1"},
    # Full collections that walk everything each time, as before config/startup.py froze
    # what survives each one (production's default, "as-is").
    "walk-all": {"GC_WHOLE_COLLECTION_SECONDS": "0"},
}


def start_servers(
    setup: Setup, env: dict, log, spread: bool = False
) -> tuple[list[subprocess.Popen], list[int]]:
    """The setup's servers through the production entry point. `procs` processes all on
    core 0, or with `spread` process i on core i; one `--workers` server unpinned (the
    kernel spreads its workers and the load over the cores, as on a host)."""
    servers, ports = [], []
    py = sys.executable
    for index in range(1 if setup.workers > 1 else setup.procs):
        port = free_port()
        command = [py, "-m", "config.serve_uvicorn", "-b", "127.0.0.1", "-p", str(port)]
        command += ["-v", "0", "--workers", str(setup.workers), APP]
        if setup.workers == 1:
            command = pin(command, str(index % (os.cpu_count() or 1)) if spread else "0")
        servers.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**env, **GC_VARIANTS[setup.gc]},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=raise_file_limit,
            )
        )
        ports.append(port)
    for server, port in zip(servers, ports, strict=True):
        wait_ready(port, server)
    return servers, ports


def serving_pids(servers: list[subprocess.Popen], workers: int) -> list[int]:
    """The processes that hold the sockets: the servers, or a `--workers` server's workers
    (its children, but multiprocessing's resource tracker)."""
    if workers == 1:
        return [server.pid for server in servers]
    pids = []
    for server in servers:
        for children in Path(f"/proc/{server.pid}/task").glob("*/children"):
            for pid in children.read_text().split():
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"resource_tracker" not in command:
                    pids.append(int(pid))
    if len(pids) != workers * len(servers):
        raise RuntimeError(f"expected {workers} workers a server, found {pids}")
    return pids


def rss_kib(pids: list[int]) -> int:
    """Resident memory of these processes, summed, in KiB."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def stop_servers(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
    for server in servers:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()


def read_collections(directory: str) -> list[tuple[int, int, float, float]]:
    """Every collection bench/fanout_probe.py wrote: (pid, generation, start, ms)."""
    rows = []
    for path in sorted(Path(directory).glob("gc-*.log")):
        pid = int(path.stem[3:])
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4:
                rows.append((pid, int(parts[0]), float(parts[1]), float(parts[2])))
    return rows


def collections_between(directory: str, began: float, ended: float) -> dict:
    """The collections that started in [began, ended]: full ones (generation 2) counted,
    the longest full and the longest young (0 or 1) collection, ms."""
    rows = [r for r in read_collections(directory) if began <= r[2] <= ended]
    full = [r[3] for r in rows if r[1] == 2]
    young = [r[3] for r in rows if r[1] < 2]
    return {
        "full": len(full),
        "full_max": max(full, default=0.0),
        "full_ms": sum(full),
        "young": len(young),
        "young_max": max(young, default=0.0),
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
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


def measure(
    setup: Setup,
    sizes: list[tuple[bool, int, int]],
    *,
    env: dict,
    log,
    sessions,
    args,
    gc_dir: str,
    lives: list[dict],
    load_processes: int = 1,
    memory: bool = False,
) -> list[dict]:
    """Start the setup's servers, run one job per (stream, clients, rounds), stop them."""
    started = time.perf_counter()
    servers, ports = start_servers(setup, env, log, args.spread)
    ready = time.perf_counter()
    urls = [f"ws://127.0.0.1:{port}" for port in ports]
    pids = serving_pids(servers, setup.workers)
    prefix = [] if args.spread or setup.workers > 1 else pin([], "1")
    results = []
    try:
        for stream, size, rounds in sizes:
            job = {
                "urls": urls,
                "session": next(sessions),
                "clients": size,
                "stream": stream,
                "rounds": rounds,
                "warmup": args.warmup,
                "tag": f"{setup.layer}-{setup.gc}-{setup.shape}-{size}-{int(stream)}",
                "in_flight": args.in_flight,
                "connect_timeout": 300.0,
                "settle": 2.0 if size >= 5000 else 0.5,
            }
            before = rss_kib(pids) if memory else 0
            began = time.monotonic()
            result = fleet.run_job(
                job,
                load_processes if size >= 1000 else 1,
                prefix,
                on_connected=(lambda: {"rss_after": rss_kib(pids)}) if memory else None,
            )
            result["rss_before"] = before
            # The burst: from the first connect to the last handshake, and the settling after.
            result["gc_burst"] = collections_between(
                gc_dir, result["burst_began"], result["burst_ended"] + job["settle"]
            )
            result["gc_rounds"] = collections_between(
                gc_dir, result["burst_ended"] + job["settle"], time.perf_counter()
            )
            result["job_ended"] = time.perf_counter()
            results.append({"setup": setup, "stream": stream, "n": size, **result})
            print(
                f"# {job['tag']}: {time.monotonic() - began:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(1 if size < 5000 else 5)  # the sockets leave their groups
    finally:
        stop_servers(servers)
    lives.append(
        {"setup": setup, "pids": pids, "started": started, "jobs": results, "ready": ready}
    )
    return results


def full_collections(directory: str, life: dict) -> list[str]:
    """Each full collection of a setup's servers, with the phase it fell in: start-up (before
    the server answered), a job's connection burst, its rounds, between jobs, or shutdown."""
    spans = []
    for job in life["jobs"]:
        label = f"{job['n']}{' stream=1' if job['stream'] else ''}"
        settled = job["burst_ended"] + (2.0 if job["n"] >= 5000 else 0.5)
        spans.append((job["burst_began"], settled, f"{label} burst"))
        spans.append((settled, job["job_ended"], f"{label} rounds"))
    last = life["jobs"][-1]["job_ended"] if life["jobs"] else life["ready"]
    found = []
    for pid, generation, start, ms in read_collections(directory):
        if pid not in life["pids"] or generation != 2:
            continue
        if start < life["ready"]:
            phase = "start-up"
        elif start > last:
            phase = "shutdown"
        else:
            phase = next((name for a, b, name in spans if a <= start <= b), "between jobs")
        found.append(f"{ms:.1f} ms ({phase})")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,100,500")
    parser.add_argument("--stream-clients", default="1,100")
    parser.add_argument("--processes", default="1", help="server processes, each on its port")
    parser.add_argument("--layers", default="pubsub", help="pubsub (production's), core or both")
    parser.add_argument(
        "--gc-variants", default="as-is", help=f"the collector's: {', '.join(GC_VARIANTS)}"
    )
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--stream-rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--in-flight", type=int, default=500, help="handshakes under way at once, a load process"
    )
    parser.add_argument(
        "--many",
        type=int,
        default=10000,
        help="sockets of the many-socket measurement (0: none; needs DATABASE_URL)",
    )
    parser.add_argument("--many-workers", type=int, default=2)
    parser.add_argument("--many-load", type=int, default=4, help="load processes for it")
    parser.add_argument("--many-rounds", type=int, default=20)
    parser.add_argument("--many-gc", default="as-is", help="the collector's variant for it")
    parser.add_argument("--gc-log", default="", help="copy the probe's logs into this directory")
    parser.add_argument(
        "--spread",
        action="store_true",
        help="pin server process i to core i (one per core, as --workers runs them) and leave "
        "the load generator unpinned, instead of every server on core 0 and the load on core 1",
    )
    args = parser.parse_args()
    raise_file_limit()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        raise SystemExit("set REDIS_URL (fan-out across processes goes through Redis)")
    clients = [int(n) for n in args.clients.split(",") if n]
    stream_clients = [int(n) for n in args.stream_clients.split(",") if n]
    processes = [int(n) for n in args.processes.split(",") if n]
    layers = [name for name in args.layers.split(",") if name]
    variants = [name for name in args.gc_variants.split(",") if name]
    if unknown := {*variants, args.many_gc} - set(GC_VARIANTS):
        raise SystemExit(f"unknown collector variant(s): {', '.join(sorted(unknown))}")
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url:
        ensure_database(database_url)
    many = args.many if database_url else 0
    log_path = ROOT / ".local" / "bench-fanout.log"
    log_path.parent.mkdir(exist_ok=True)
    setups = [Setup(layer, gc, procs) for layer in layers for gc in variants for procs in processes]
    setups = setups if clients or stream_clients else []
    rows: list[dict] = []
    many_rows: list[dict] = []
    lives: list[dict] = []
    with tempfile.TemporaryDirectory() as directory, log_path.open("w") as log:
        gc_dir = os.path.join(directory, "gc")
        os.mkdir(gc_dir)
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
            "FANOUT_GC_DIR": gc_dir,
            # The allocator production runs with (the Makefile's SERVE_ENV).
            "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
            "GLIBC_TUNABLES": os.environ.get("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        py = sys.executable
        subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        sizes = [(False, n, args.rounds) for n in clients]
        sizes += [(True, n, args.stream_rounds) for n in stream_clients]
        many_sizes = [(False, 1, args.many_rounds), (False, many, args.many_rounds)] if many else []
        needed = len(setups) * len(sizes) + len(many_sizes)
        seeded = subprocess.run(
            [py, "-m", "bench.fanout_seed", str(needed)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        sessions = iter(json.loads(seeded.stdout.strip().splitlines()[-1])["sessions"])
        common = {"env": {**env, "FANOUT_LAYER": ""}, "log": log, "sessions": sessions}
        common.update(args=args, gc_dir=gc_dir, lives=lives)
        for setup in setups:
            common["env"]["FANOUT_LAYER"] = setup.layer
            rows += measure(setup, sizes, **common)
        if many:
            common["env"]["FANOUT_LAYER"] = "pubsub"
            many_rows = measure(
                Setup("pubsub", gc=args.many_gc, workers=args.many_workers),
                many_sizes,
                load_processes=args.many_load,
                memory=True,
                **common,
            )
        if args.gc_log:
            shutil.copytree(gc_dir, args.gc_log, dirs_exist_ok=True)
        report(rows, args, bool(database_url))
        if many_rows:
            report_many(many_rows, args)
        elif args.many:
            print(f"\n{args.many} sockets: skipped (needs DATABASE_URL: measured on PostgreSQL)")
        print("\nevery full collection of each setup's servers, and when it happened")
        for life in lives:
            setup = life["setup"]
            found = full_collections(gc_dir, life)
            print(f"{setup.layer} {setup.gc} {setup.shape}: {', '.join(found) or 'none'}")


def report(rows: list[dict], args, postgres: bool) -> None:
    if not rows:
        return
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
        + "; p=N: N server processes, each on its own port"
    )
    plain = [r for r in rows if not r["stream"]]
    streams = [r for r in rows if r["stream"]]

    def key(row: dict) -> tuple:
        return (row["setup"].layer, row["setup"].gc, row["setup"].shape)

    print("\nuser_message -> the user's chat frame at the last client, ms")
    print(
        f"{'layer':7} {'gc':8} {'shape':5} {'clients':>7} {'p50':>7} {'p99':>7} {'max':>7} "
        f"{'reply p50':>9} {'conn p99':>8} {'frames':>7} {'lost':>5} {'extra':>5} "
        f"{'p99/p99(1)':>10}"
    )
    base: dict[tuple, float] = {}
    for row in plain:
        user, reply = summary(row, "user_ms"), summary(row, "final_ms")
        if row["n"] == 1:
            base[key(row)] = user["p99"]
        ratio = user["p99"] / base[key(row)] if key(row) in base else float("nan")
        row["summary"] = user
        print(
            f"{row['setup'].layer:7} {row['setup'].gc:8} {row['setup'].shape:5} {row['n']:>7} "
            f"{user['p50']:>7.1f} {user['p99']:>7.1f} {user['max']:>7.1f} {reply['p50']:>9.1f} "
            f"{percentile(row['connect_ms'], 0.99):>8.1f} {row['frames']:>7} "
            f"{row['lost']:>5} {row['extra']:>5} {ratio:>10.2f}"
        )
    print("\nuser_message -> the whole reply (every delta, then the final frame) at the last")
    print("stream=1 socket, ms (user, delta: the user's frame, the reply's first delta there)")
    print(
        f"{'layer':7} {'gc':8} {'shape':5} {'sockets':>7} {'p50':>7} {'p99':>7} {'max':>7} "
        f"{'user p50':>8} {'delta p50':>9} "
        f"{'deltas/reply':>12} {'frames':>7} {'lost':>5} {'broken':>6} {'p50/p50(1)':>10}"
    )
    stream_base: dict[tuple, float] = {}
    for row in streams:
        whole = summary(row, "final_ms")
        if row["n"] == 1:
            stream_base[key(row)] = whole["p50"]
        ratio = whole["p50"] / stream_base[key(row)] if key(row) in stream_base else float("nan")
        row["summary"] = whole
        replies = max(1, len(row["rounds"]) * row["n"])
        print(
            f"{row['setup'].layer:7} {row['setup'].gc:8} {row['setup'].shape:5} {row['n']:>7} "
            f"{whole['p50']:>7.1f} {whole['p99']:>7.1f} {whole['max']:>7.1f} "
            f"{summary(row, 'user_ms')['p50']:>8.1f} {summary(row, 'delta_ms')['p50']:>9.1f} "
            f"{row['deltas'] / replies:>12.1f} {row['frames']:>7} {row['lost']:>5} "
            f"{row['broken']:>6} {ratio:>10.2f}"
        )
    print(
        "\ngarbage collections in the servers (bench/fanout_probe.py): during each connection "
        "burst\n(first connect to last handshake, and the settling after it) and during the "
        "rounds; full = generation 2, ms"
    )
    print(
        f"{'layer':7} {'gc':8} {'shape':5} {'clients':>7} {'burst ms':>8} {'full':>5} "
        f"{'full max':>8} {'young max':>9} {'rounds: full':>12} {'full max':>8} {'young max':>9}"
    )
    for row in rows:
        burst, rounds = row["gc_burst"], row["gc_rounds"]
        label = f"{row['n']}{' s' if row['stream'] else ''}"
        print(
            f"{row['setup'].layer:7} {row['setup'].gc:8} {row['setup'].shape:5} {label:>7} "
            f"{row['burst_ms']:>8.0f} {burst['full']:>5} {burst['full_max']:>8.1f} "
            f"{burst['young_max']:>9.1f} {rounds['full']:>12} {rounds['full_max']:>8.1f} "
            f"{rounds['young_max']:>9.1f}"
        )
    print("\ntargets (issues 10 and 19), each figure beside its baseline from the same run")
    for setup in dict.fromkeys(key(r) for r in rows):
        mine = {r["n"]: r for r in plain if key(r) == setup}
        stream = {r["n"]: r for r in streams if key(r) == setup}
        checks = []
        if 1 in mine:
            p50 = mine[1]["summary"]["p50"]
            checks.append(f"1-client p50 {p50:.1f} ms < 10: {verdict(p50 < 10)}")
        if 1 in mine and 500 in mine:
            one, many = mine[1]["summary"]["p99"], mine[500]["summary"]["p99"]
            checks.append(
                f"500-client p99 {many:.1f} <= 5 x {one:.1f} ({many / one:.2f}): "
                f"{verdict(many <= 5 * one)}"
            )
        if 1 in stream and 100 in stream:
            one, many = stream[1]["summary"]["p50"], stream[100]["summary"]["p50"]
            checks.append(
                f"100 stream=1 p50 {many:.1f} <= 2 x {one:.1f} ({many / one:.2f}): "
                f"{verdict(many <= 2 * one)}"
            )
        if 500 in mine:
            worst = mine[500]["gc_burst"]["full_max"]
            checks.append(
                f"500-connection burst: longest full collection {worst:.1f} ms <= 50: "
                f"{verdict(worst <= 50)}"
            )
        lost = sum(r["lost"] for r in [*mine.values(), *stream.values()])
        broken = sum(r["broken"] for r in stream.values())
        checks.append(f"lost {lost}, broken {broken}: {verdict(lost == broken == 0)}")
        print(f"{' '.join(map(str, setup))}:\n  " + "\n  ".join(checks))


def report_many(rows: list[dict], args) -> None:
    """The many-socket measurement: each figure beside its baseline (one socket on the same
    servers, in the same run, or the target), ratio last."""
    one, many = rows[0], rows[-1]
    n = many["n"]
    workers = many["setup"].workers
    user1, user = summary(one, "user_ms"), summary(many, "user_ms")
    final1, final = summary(one, "final_ms"), summary(many, "final_ms")
    per_socket = (many["rss_after"] - many["rss_before"]) / n
    handshake1 = percentile(one["connect_ms"], 0.5)
    print(
        f"\n{n:,} sockets on one host: uvicorn --workers {workers} (python -m "
        f"config.serve_uvicorn), collector {many['setup'].gc}, PostgreSQL + Redis (pub/sub "
        f"layer), {many['load_processes']} "
        f"load processes (at most {args.in_flight} handshakes under way in each), "
        f"{args.many_rounds} rounds after {args.warmup} warm-up; baseline: 1 socket on the same "
        "servers in the same run"
    )
    print(f"{'figure':52} {'baseline':>12} {'measured':>12} {'ratio':>8}")

    def line(name: str, baseline: float | str, measured: float, ratio: float | str = "") -> None:
        b = baseline if isinstance(baseline, str) else f"{baseline:,.1f}"
        r = ratio if isinstance(ratio, str) else f"{ratio:.2f}"
        print(f"{name:52} {b:>12} {measured:>12,.1f} {r:>8}")

    line(
        "resident memory per idle socket, KiB (target < 64)",
        "target 64",
        per_socket,
        per_socket / 64,
    )
    print(
        f"  (servers' RSS summed over {workers} workers: {many['rss_before'] / 1024:,.1f} MiB "
        f"before the handshakes, {many['rss_after'] / 1024:,.1f} MiB after)"
    )
    line(f"time for {n:,} handshakes, s", "", many["burst_ms"] / 1000)
    p50 = percentile(many["connect_ms"], 0.5)
    line("one handshake p50, ms", handshake1, p50, p50 / handshake1)
    p99 = percentile(many["connect_ms"], 0.99)
    line("one handshake p99, ms", handshake1, p99, p99 / handshake1)
    for name, base, got in (
        ("user_message -> user's frame at the last socket p50, ms", user1["p50"], user["p50"]),
        ("user_message -> user's frame at the last socket p99, ms", user1["p99"], user["p99"]),
        ("user_message -> the reply at the last socket p50, ms", final1["p50"], final["p50"]),
    ):
        line(name, base, got, got / base)
    line("frames lost", "target 0", many["lost"], "")
    print(
        f"  frames {many['frames']:,}, extra {many['extra']}, sockets the server closed "
        f"{many['closed']}; full collections during the handshakes {many['gc_burst']['full']} "
        f"(longest {many['gc_burst']['full_max']:.1f} ms), during the rounds "
        f"{many['gc_rounds']['full']} (longest {many['gc_rounds']['full_max']:.1f} ms)"
    )
    print(
        f"targets (issue 19, item 3): memory {per_socket:.1f} KiB < 64: "
        f"{verdict(per_socket < 64)}; "
        f"broadcast p99 at the last socket {user['p99']:.0f} ms < 1000: "
        f"{verdict(user['p99'] < 1000)}; lost {many['lost']}: {verdict(many['lost'] == 0)}"
    )


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


if __name__ == "__main__":
    main()

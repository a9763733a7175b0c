"""SSE relay benchmark: the delay family A's stream adds per token, against a reference relay.

    .venv/bin/python bench/sse_relay.py            # uvicorn, about 10 minutes
    .venv/bin/python bench/sse_relay.py --quick    # fewer tokens and 2,000 streams for memory
    .venv/bin/python bench/sse_relay.py --servers uvicorn --memory-only --probe-memory
    # options: --servers daphne,uvicorn --streams 1,50,200 --rate 10 --repeats 3
    #          --rss-streams 10000 --rss-first 1000 --rss-servers uvicorn --no-throughput
    #          --ttft-samples 40 (streams one at a time per app, for the first text-delta)
    #          --memory-only --probe-memory --trace-memory --project-env NAME=VALUE
    #          --project-app bench.fanout_probe:application (FANOUT_GC_THRESHOLD=a,b,c)

Processes, all on 127.0.0.1 and all stopped by the script:
- `bench/relay_upstream.py`: a fake OpenAI-compatible upstream streaming tokens at a fixed
  rate (10 tokens/s a stream by default), each token carrying its send time;
- the project through its production entry point (`python -m config.serve_uvicorn`; plain,
  unpatched `daphne` as a comparison with `--servers uvicorn,daphne`) with the dialogue task
  pointed at that upstream (`AI_DIALOGUE_BASE_URL`), on a scratch SQLite database
  (`LOCAL_DIR` in a temporary directory) with the AI turn limits raised, streaming
  `POST /api/chats/{id}` (one chat per stream, created before the streams start);
- `bench/relay_reference.py`: a plain ASGI relay over the same upstream with the same client
  (`openai.AsyncOpenAI`), on the same server software (not started for `--memory-only`);
- this process, the load generator (`bench/sse_client.py`).
The servers are pinned to core 0, the upstream and this process to core 1 (`taskset`, when
there are two cores or more). Server logs go to `.local/bench-sse-relay.log`.

For 1, 50 and 200 concurrent streams (started evenly over one token interval) it prints, for
the project and the reference measured in the same run (the two alternate), the per-token added
delay (client receive time minus upstream send time) p50/p99, the time to first byte and to the
first text-delta per stream, the server's CPU share, the added delay of each stream's first
token apart (p50/p99: a project start holds it until the user's line is committed) and the p99
of the tokens after it, whether tokens were batched (text-delta parts vs tokens), and the
ratio of the p99s. Then the first text-delta of `--ttft-samples` streams one at a time per
app, alternating (a single stream's row above is one sample a run), p50 against the
reference's + 5 ms (issue 19, item 1). Then the relay's cost: 200 streams at a high rate,
tokens relayed per second and per CPU-second of the server. Then, on uvicorn (production;
`--rss-servers`), in a fresh project server process, its resident memory (VmRSS) after its
first `--rss-first` streams and after every 1,000 up to `--rss-streams` (50 at a time, 5
tokens at 100 tokens/s; SQLite's writers queue for its lock: 200 at a time made some wait past
its 20 s busy timeout).
`--probe-memory` serves the project wrapped by bench/sse_tracemalloc.py and prints, at each
mark, live objects, the engine's registries and glibc's allocator figures, and RSS after
`malloc_trim(0)` at the end; `--trace-memory` adds tracemalloc's diff of the Python heap from
the first mark to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch_db import ensure_database  # noqa: E402
from bench.sse_client import StreamResult, fetch, sse_stream, staggered  # noqa: E402

PY = sys.executable
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
PROJECT_APP = "config.asgi:application"
TRACED_APP = "bench.sse_tracemalloc:application"  # the project with a memory probe
REFERENCE_APP = "bench.relay_reference:application"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin(command: list[str], cores: str) -> list[str]:
    return ["taskset", "-c", cores, *command] if PINNED else command


def server_command(server: str, app: str, port: int, project: bool) -> list[str]:
    """The project through its production entry point (`config.serve_uvicorn`) or plain
    daphne, the comparison; the reference through the plain server, the same server software
    without Django."""
    host = "127.0.0.1"
    if server == "daphne":
        return [PY, "-m", "daphne", "-b", host, "-p", str(port), "-v", "0", app]
    if server == "uvicorn" and project:
        return [PY, "-m", "config.serve_uvicorn", "-b", host, "-p", str(port), "-v", "0", app]
    if server == "uvicorn":
        return [
            PY, "-m", "uvicorn", "--host", host, "--port", str(port), "--lifespan", "off",
            "--no-access-log", "--log-level", "warning", app,
        ]  # fmt: skip
    raise SystemExit(f"unknown server {server}")


def server_pid(process: subprocess.Popen) -> int:
    """The server's pid (under py-spy, the profiler's child)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if "py-spy" in Path(f"/proc/{process.pid}/cmdline").read_text() and children.exists():
        first = children.read_text().split()
        if first:
            return int(first[0])
    return process.pid


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


@dataclass
class App:
    name: str  # "project" or "reference"
    port: int
    process: subprocess.Popen
    cookie: str = ""

    async def prepare(self, count: int) -> list[str]:
        """The request paths of `count` streams (the project: `count` new chats)."""
        if self.name == "reference":
            return ["/relay"] * count
        semaphore = asyncio.Semaphore(16)

        async def create(_: int) -> str:
            async with semaphore:
                headers = {"Cookie": self.cookie} if self.cookie else {}
                answer = await fetch(
                    self.port, "POST", "/api/chats", {"prompt": "relay bench"}, headers
                )
                if answer.status != 201:
                    raise RuntimeError(f"creating a chat: HTTP {answer.status} {answer.body[:200]}")
                if not self.cookie:
                    for name, value in answer.headers:
                        if name == b"set-cookie":
                            self.cookie = value.decode().split(";", 1)[0]
                import json

                return f"/api/chats/{json.loads(answer.body)['id']}"

        if not self.cookie:
            first = [await create(0)]
            return first + list(await asyncio.gather(*(create(i) for i in range(1, count))))
        return list(await asyncio.gather(*(create(i) for i in range(count))))

    async def streams(
        self, count: int, tokens: int, rate: float
    ) -> tuple[list[StreamResult], float]:
        """The streams' results and the server's CPU share while they ran."""
        paths = await self.prepare(count)
        payload = {
            "messages": [{"role": "user", "content": f"relay bench n={tokens} rate={rate:g}"}]
        }
        headers = {"Cookie": self.cookie} if self.cookie else {}
        pid = server_pid(self.process)
        cpu0, t0 = cpu_seconds(pid), time.perf_counter()
        results = await staggered(
            count, 1 / rate, lambda i: sse_stream(self.port, paths[i], payload, headers)
        )
        return results, (cpu_seconds(pid) - cpu0) / (time.perf_counter() - t0)


def start(
    server: str, app: str, env: dict, log, profile: str = "", project: bool = True
) -> tuple[int, subprocess.Popen]:
    port = free_port()
    command = pin(server_command(server, app, port, project), "0")
    if profile:
        # py-spy (pip install py-spy) samples the server from the other core, the thread
        # holding the GIL only; collapsed stacks go to `profile`.
        spy = str(Path(PY).with_name("py-spy"))
        command = (
            pin(
                [spy, "record", "--gil", "--format", "raw", "--rate", "200", "-o", profile, "--"],
                "1",
            )
            + command
        )
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    path = "/api/health" if project else "/"
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{server} {app} exited; see .local/bench-sse-relay.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
                if answer.status == 200:
                    return port, process
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server} {app} did not start")


def stop(process: subprocess.Popen) -> None:
    pid = server_pid(process) if process.poll() is None else process.pid
    if pid != process.pid:  # under py-spy: end the server, the profiler then writes its file
        os.kill(pid, 15)
    if process.poll() is None:
        if pid != process.pid:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


@dataclass
class Summary:
    streams: int
    failed: int
    tokens: int
    parts: int
    delay_p50: float
    delay_p99: float
    ttfb_p50: float  # request sent -> first byte
    ttfb_p99: float
    added_ttfb_p50: float  # first byte - upstream sent token 0
    added_ttfb_p99: float
    first_delta_p50: float  # request sent -> first text-delta
    first_delta_p99: float
    token0_p50: float  # the added delay of each stream's first token (in delay_p50/p99)
    token0_p99: float
    later_p99: float  # the added delay of the tokens after each stream's first
    errors: list[str]
    cpu: float = 0.0  # the server's CPU share while the streams ran


def summarize(results: list[StreamResult]) -> Summary:
    ms = 1e-6
    ok = [r for r in results if not r.error]
    delays = [d * ms for r in ok for d in r.delays_ns]
    ttfb = [(r.first_byte_ns - r.sent_ns) * ms for r in ok]
    added = [(r.first_byte_ns - r.first_token_send_ns) * ms for r in ok if r.first_token_send_ns]
    first = [(r.first_delta_ns - r.sent_ns) * ms for r in ok if r.first_delta_ns]
    token0 = [r.delays_ns[0] * ms for r in ok if r.delays_ns]
    later = [d * ms for r in ok for d in r.delays_ns[1:]]
    return Summary(
        streams=len(results),
        failed=len(results) - len(ok),
        tokens=sum(r.tokens for r in ok),
        parts=sum(r.parts for r in ok),
        delay_p50=pct(delays, 50),
        delay_p99=pct(delays, 99),
        ttfb_p50=pct(ttfb, 50),
        ttfb_p99=pct(ttfb, 99),
        added_ttfb_p50=pct(added, 50),
        added_ttfb_p99=pct(added, 99),
        first_delta_p50=pct(first, 50),
        first_delta_p99=pct(first, 99),
        token0_p50=pct(token0, 50),
        token0_p99=pct(token0, 99),
        later_p99=pct(later, 99),
        errors=sorted({r.error for r in results if r.error})[:3],
    )


async def throughput(app: App, streams: int, tokens: int, rate: float) -> dict:
    """Tokens relayed per wall second and per server CPU-second, at an offered load of
    streams x rate tokens/s."""
    paths = await app.prepare(streams)  # chat creation is not counted
    payload = {"messages": [{"role": "user", "content": f"relay bench n={tokens} rate={rate:g}"}]}
    headers = {"Cookie": app.cookie} if app.cookie else {}
    cpu0, t0 = cpu_seconds(server_pid(app.process)), time.perf_counter()
    results = await staggered(
        streams, 1 / rate, lambda i: sse_stream(app.port, paths[i], payload, headers)
    )
    wall, cpu = time.perf_counter() - t0, cpu_seconds(server_pid(app.process)) - cpu0
    relayed = sum(r.tokens for r in results)
    delays = [d * 1e-6 for r in results for d in r.delays_ns]
    return {
        "offered": streams * rate,
        "tokens": relayed,
        "per_s": relayed / wall,
        "per_cpu_s": relayed / cpu if cpu else float("nan"),
        "cpu_share": cpu / wall,
        "p50": pct(delays, 50),
        "p99": pct(delays, 99),
        "failed": sum(1 for r in results if r.error),
    }


async def probe(app: App, command: str) -> str:
    """A command of the memory probe (bench/sse_tracemalloc.py) in the project server."""
    answer = await fetch(app.port, "GET", f"/__bench/memory/{command}")
    if answer.status != 200:
        raise RuntimeError(f"memory probe {command}: HTTP {answer.status} {answer.body[:200]}")
    return answer.body.decode().rstrip("\n")


async def memory(
    app: App, total: int, first: int, concurrency: int, probed: bool, trace: bool
) -> dict:
    """RSS after the first `first` streams and after every 1,000 up to `total`, `concurrency`
    at a time. With `probed` (the project served with bench/sse_tracemalloc.py), the probe's
    figures at each mark (after a full collection) and, at the end, after `malloc_trim`; with
    `trace` as well, the tracemalloc diff of the server's heap from the first mark to the
    last."""
    done = {"n": 0, "failed": 0}
    marks: dict[int, int] = {}
    probes: dict[int, str] = {}
    if trace:
        await probe(app, "start")

    async def worker(paths: list[str]) -> None:
        payload = {"messages": [{"role": "user", "content": "relay bench n=5 rate=100"}]}
        headers = {"Cookie": app.cookie}
        while paths:
            result = await sse_stream(app.port, paths.pop(), payload, headers)
            done["n"] += 1
            done["failed"] += bool(result.error)

    t0 = time.perf_counter()
    finished = 0
    while finished < total:
        size = min(first - finished if finished < first else 1000, total - finished)
        paths = await app.prepare(size)
        shares = [paths[i::concurrency] for i in range(concurrency)]
        await asyncio.gather(*(worker(share) for share in shares if share))
        finished += size
        if finished >= first:
            await asyncio.sleep(1.0)  # let the last turns end and their tasks go
            marks[finished] = rss_kib(server_pid(app.process))
            if probed:  # a full collection first: what is left is alive
                probes[finished] = await probe(app, f"snapshot?name={finished}")
    traced = trimmed = ""
    if trace:
        traced = await probe(app, f"diff?from={min(first, total)}&to={total}&top=25")
    if probed:
        trimmed = await probe(app, "trim")
    return {
        "first": first,
        "total": total,
        "rss_first": marks[min(first, total)],
        "rss_total": marks[total],
        "failed": done["failed"],
        "seconds": time.perf_counter() - t0,
        "marks": marks,
        "probes": probes,
        "diff": traced,
        "trimmed": trimmed,
    }


def fmt(value: float) -> str:
    return f"{value:8.2f}"


async def run_server(server: str, args, env: dict, upstream: str, log) -> dict:
    project_env = {
        **env,
        "AI_DIALOGUE_BASE_URL": upstream,
        "AI_DIALOGUE_API_KEY": "relay-bench",
        "AI_DIALOGUE_MODEL": "relay-bench",
        "AI_DIALOGUE_MAX_RETRIES": "0",
        "AI_TURN_RATE": "",
        "AI_TURNS_MAX_CONCURRENT": "100000",
        "AI_TURNS_PER_CONVERSATION": "0",
        "ASSISTANT_RATE": "",
        "LOG_LEVEL": "WARNING",
        **dict(item.split("=", 1) for item in args.project_env),
    }
    reference_env = {**env, "RELAY_UPSTREAM": upstream}
    project_app = TRACED_APP if args.probe_memory else args.project_app
    port_p, proc_p = start(server, project_app, project_env, log, args.profile)
    apps = {"project": App("project", port_p, proc_p)}
    proc_r = None
    if args.streams or args.throughput:  # the reference takes no part in the memory run
        port_r, proc_r = start(server, REFERENCE_APP, reference_env, log, project=False)
        apps["reference"] = App("reference", port_r, proc_r)
    out: dict = {"rows": [], "throughput": {}, "memory": None}
    try:
        latency = bool(args.streams or args.throughput)
        for app in apps.values() if latency else ():  # warm up: imports, pools, a first chat
            await app.streams(5, 5, 100)
        flip = False
        for count in args.streams:
            tokens = args.tokens_single if count == 1 else args.tokens_many
            for _ in range(args.repeats):
                order = ["reference", "project"] if flip else ["project", "reference"]
                flip = not flip
                for name in order:
                    if args.only and name != args.only:
                        continue
                    results, cpu = await apps[name].streams(count, tokens, args.rate)
                    summary = summarize(results)
                    summary.cpu = cpu
                    out["rows"].append((count, name, summary))
        if args.ttft_samples and len(apps) == 2:
            out["ttft"] = await first_deltas(apps, args.ttft_samples)
        if args.throughput:
            for name in ("project", "reference"):
                if args.only and name != args.only:
                    continue
                out["throughput"][name] = await throughput(apps[name], 200, 60, 40)
        if args.rss_streams and server in args.rss_servers:
            if latency:
                # The target is about a process's own first 1,000 streams: a fresh server,
                # not one the runs above have warmed up (after them the growth reads lower).
                stop(proc_p)
                port_p, proc_p = start(server, project_app, project_env, log)
                apps["project"] = App("project", port_p, proc_p)
            out["memory"] = await memory(
                apps["project"],
                args.rss_streams,
                args.rss_first,
                args.rss_concurrency,
                args.probe_memory,
                args.trace_memory,
            )
    finally:
        stop(proc_p)
        if proc_r is not None:
            stop(proc_r)
    return out


async def first_deltas(apps: dict, samples: int) -> dict[str, list[float]]:
    """Time to the first text-delta, ms, of `samples` streams one at a time per app (3 tokens
    at 100 tokens/s each), the apps alternating stream by stream: a single stream's figure
    from one run is one sample, and one sample moves by half between runs."""
    times: dict[str, list[float]] = {name: [] for name in apps}
    for i in range(samples):
        for name in ("project", "reference") if i % 2 else ("reference", "project"):
            results, _ = await apps[name].streams(1, 3, 100)
            times[name] += [
                (r.first_delta_ns - r.sent_ns) * 1e-6
                for r in results
                if not r.error and r.first_delta_ns
            ]
    return times


def ttft_report(server: str, times: dict[str, list[float]], checks: list) -> None:
    print(f"\n{server}: first text-delta of one stream at a time, ms")
    print(f"{'app':9} {'samples':>7} {'p50':>8} {'p90':>8} {'p99':>8}")
    for name, values in times.items():
        print(
            f"{name:9} {len(values):>7} {fmt(pct(values, 50))} {fmt(pct(values, 90))} "
            f"{fmt(pct(values, 99))}"
        )
    added = pct(times["project"], 50) - pct(times["reference"], 50)
    ok = added <= 5
    checks.append((f"{server} first text-delta, 1 stream", ok))
    verdict = "met" if ok else "NOT met"
    print(f"project p50 - reference p50: {added:+.2f} ms (target <= +5): {verdict}")


def report(server: str, out: dict, args) -> list[tuple[str, bool]]:
    checks: list[tuple[str, bool]] = []
    if out["rows"]:
        latency(server, out, args, checks)
    if out.get("ttft"):
        ttft_report(server, out["ttft"], checks)
    if out["throughput"]:
        relay_cost(server, out)
    if out["memory"]:
        checks.append(memory_report(server, out["memory"]))
    return checks


def latency(server: str, out: dict, args, checks: list[tuple[str, bool]]) -> None:
    print(
        f"\n{server}: per-token added delay and time to first byte, ms "
        f"({args.rate:g} tokens/s a stream; 1 stream: {args.tokens_single} tokens, "
        f"more: {args.tokens_many} tokens each)"
    )
    print(
        f"{'streams':>7} {'app':9} {'fail':>4} {'tokens':>6} {'parts':>6} "
        f"{'delay p50':>9} {'p99':>8} {'ttfb p50':>9} {'p99':>8} {'+ttfb p50':>9} {'p99':>8} "
        f"{'1st-delta p50':>13} {'p99':>8} {'cpu %':>5} {'tok0 p50':>8} {'p99':>8} "
        f"{'later p99':>9}"
    )
    by: dict[tuple[int, str], list[Summary]] = {}
    for count, name, s in out["rows"]:
        by.setdefault((count, name), []).append(s)
        print(
            f"{count:>7} {name:9} {s.failed:>4} {s.tokens:>6} {s.parts:>6} "
            f"{fmt(s.delay_p50):>9} {fmt(s.delay_p99)} {fmt(s.ttfb_p50):>9} {fmt(s.ttfb_p99)} "
            f"{fmt(s.added_ttfb_p50):>9} {fmt(s.added_ttfb_p99)} "
            f"{fmt(s.first_delta_p50):>13} {fmt(s.first_delta_p99)} {100 * s.cpu:>5.0f} "
            f"{fmt(s.token0_p50)} {fmt(s.token0_p99)} {fmt(s.later_p99):>9}"
        )
        for error in s.errors:
            print(f"        error: {error}")
    print(f"\n{'streams':>7} {'reference p99':>13} {'project p99':>11} {'ratio':>6}   target")
    for count in args.streams:
        if (count, "reference") not in by or (count, "project") not in by:
            continue
        ref = statistics.median(s.delay_p99 for s in by[(count, "reference")])
        pro = statistics.median(s.delay_p99 for s in by[(count, "project")])
        ratio = pro / ref if ref else float("inf")
        if count == 1:
            p50 = statistics.median(s.delay_p50 for s in by[(count, "project")])
            batched = any(s.parts != s.tokens for s in by[(count, "project")])
            failed = sum(s.failed for s in by[(count, "project")])
            target = f"p50 {p50:.2f} < 2, p99 {pro:.2f} < 10, batched: {'yes' if batched else 'no'}"
            ok = p50 < 2 and pro < 10 and not batched and not failed
        else:
            target = "ratio <= 1.5"
            ok = ratio <= 1.5 and not sum(s.failed for s in by[(count, "project")])
        checks.append((f"{server} {count} stream(s)", ok))
        print(
            f"{count:>7} {ref:>13.2f} {pro:>11.2f} {ratio:>6.2f}   {target}: "
            f"{'met' if ok else 'NOT met'}"
        )


def relay_cost(server: str, out: dict) -> None:
    t = out["throughput"]
    print(
        f"\n{server}: relay cost, 200 streams x 40 tokens/s offered "
        f"({next(iter(t.values()))['offered']:.0f} tokens/s)"
    )
    print(
        f"{'app':9} {'tokens':>6} {'fail':>4} {'tok/s':>8} {'cpu %':>6} {'tok/cpu-s':>9} "
        f"{'delay p50':>9} {'p99':>8}"
    )
    for name in t:
        r = t[name]
        print(
            f"{name:9} {r['tokens']:>6} {r['failed']:>4} {r['per_s']:>8.0f} "
            f"{100 * r['cpu_share']:>6.0f} {r['per_cpu_s']:>9.0f} "
            f"{fmt(r['p50']):>9} {fmt(r['p99'])}"
        )
    if len(t) == 2:
        ratio = t["project"]["per_cpu_s"] / t["reference"]["per_cpu_s"]
        print(f"project / reference tokens per CPU-second: {ratio:.2f}")


def memory_report(server: str, m: dict) -> tuple[str, bool]:
    growth = (m["rss_total"] - m["rss_first"]) / m["rss_first"]
    ok = growth < 0.05 and not m["failed"]
    print(
        f"\n{server}: project RSS after {m['first']:,} streams "
        f"{m['rss_first'] / 1024:.1f} MiB, "
        f"after {m['total']:,} {m['rss_total'] / 1024:.1f} MiB: {100 * growth:+.1f} % "
        f"(target < 5 %: {'met' if ok else 'NOT met'}; {m['failed']} failed, "
        f"{m['seconds']:.0f} s)"
    )
    print(
        "  RSS MiB by streams done: "
        + ", ".join(f"{n:,}: {kib / 1024:.1f}" for n, kib in m["marks"].items())
    )
    if m["probes"]:
        print("  probe (after a full collection) by streams done:")
        for n, line in m["probes"].items():
            print(f"  {n:>7,}: {line}")
        print(f"  after malloc_trim(0): {m['trimmed']}")
    if m["diff"]:
        print("  " + m["diff"].replace("\n", "\n  "))
    return f"{server} RSS growth", ok


async def amain(args) -> None:
    log_path = ROOT / ".local" / "bench-sse-relay.log"
    log_path.parent.mkdir(exist_ok=True)
    if PINNED:
        os.sched_setaffinity(0, {1})
    with tempfile.TemporaryDirectory() as directory, log_path.open("w") as log:
        env = {**os.environ, "LOCAL_DIR": directory, "PYTHONUNBUFFERED": "1"}
        ensure_database(os.environ.get("DATABASE_URL", ""))
        subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        upstream = subprocess.Popen(
            pin([PY, "-m", "bench.relay_upstream"], "1"),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            line = upstream.stdout.readline().split()
            if not line or line[0] != "ready":
                raise RuntimeError("the fake upstream did not start")
            base = f"http://127.0.0.1:{line[1]}/v1"
            database = "postgresql" if os.environ.get("DATABASE_URL") else "sqlite"
            pinning = "pinned to core 0, upstream and client to core 1" if PINNED else "not pinned"
            redis = "yes" if os.environ.get("REDIS_URL") else "no"
            print(f"database={database} redis={redis}, server {pinning}")
            checks = []
            for server in args.servers:
                out = await run_server(server, args, env, base, log)
                checks += report(server, out, args)
            print(
                "\ntargets: " + ", ".join(f"{n}: {'met' if ok else 'NOT met'}" for n, ok in checks)
            )
        finally:
            stop(upstream)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default="uvicorn")
    parser.add_argument("--streams", default="1,50,200")
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--tokens-single", type=int, default=100)
    parser.add_argument("--tokens-many", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rss-streams", type=int, default=10_000)
    parser.add_argument("--rss-first", type=int, default=1_000)
    parser.add_argument("--rss-concurrency", type=int, default=50)
    parser.add_argument(
        "--rss-servers",
        default="uvicorn",
        help="servers whose project gets the memory run (default: uvicorn, production; "
        "the first of --servers when uvicorn is not among them)",
    )
    parser.add_argument(
        "--probe-memory",
        action="store_true",
        help="serve the project with a memory probe (bench/sse_tracemalloc.py) and print its "
        "figures at each mark: live objects, the engine's registries, the C allocator's "
        "used and free memory, and RSS after malloc_trim at the end",
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="--probe-memory with tracemalloc on: also the traced heap at each mark and its "
        "growth from the first mark to the last, by traceback (slows the server about 2x)",
    )
    parser.add_argument(
        "--memory-only", action="store_true", help="skip the latency and relay-cost runs"
    )
    parser.add_argument(
        "--project-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for the project server (repeatable), e.g. "
        "MALLOC_ARENA_MAX=2 to compare the C allocator's settings",
    )
    parser.add_argument(
        "--project-app",
        default=PROJECT_APP,
        help="the project's ASGI application; bench.fanout_probe:application applies the "
        "collector variants of bench/fanout_probe.py (e.g. --project-env "
        "FANOUT_GC_THRESHOLD=700,10,100) at the first request",
    )
    parser.add_argument(
        "--ttft-samples",
        type=int,
        default=40,
        help="streams one at a time per app for the first text-delta (0: none)",
    )
    parser.add_argument("--no-throughput", dest="throughput", action="store_false")
    parser.add_argument("--profile", default="", help="py-spy the project server into this file")
    parser.add_argument("--only", default="", help="project or reference: measure one app only")
    parser.add_argument("--quick", action="store_true", help="fewer tokens, 2,000 streams for RSS")
    args = parser.parse_args()
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    args.streams = [int(s) for s in args.streams.split(",") if s.strip()]
    args.rss_servers = [s.strip() for s in args.rss_servers.split(",") if s.strip()]
    if not set(args.rss_servers) & set(args.servers):
        args.rss_servers = args.servers[:1]
    args.probe_memory = args.probe_memory or args.trace_memory
    if args.memory_only:
        args.streams, args.throughput = [], False
    if args.quick:
        args.tokens_single, args.tokens_many = 40, 20
        args.rss_streams = min(args.rss_streams, 2_000)
    try:
        import uvloop

        uvloop.run(amain(args))
    except ImportError:
        asyncio.run(amain(args))


if __name__ == "__main__":
    main()

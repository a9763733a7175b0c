"""The project's ASGI application with a memory probe, for `bench/sse_relay.py --probe-memory`
and `--trace-memory`.

Served only by the benchmark (never by the project): every request goes to
`config.asgi:application` except `GET /__bench/memory/<command>`, answered here in text:

- `start`: start tracemalloc (`BENCH_TRACE_FRAMES` frames a traceback, 6 by default);
- `snapshot?name=N`: a full garbage collection, then a tracemalloc snapshot kept as `N`, and
  one line of figures (RSS and its anonymous, file and shared parts, traced bytes, live
  objects, threads, the engine's registries);
- `diff?from=A&to=B&top=25`: the allocations that grew from snapshot A to snapshot B, grouped
  by traceback, the largest first, with the total;
- `state`: the figures line alone;
- `trim`: glibc's `malloc_trim(0)` (free memory the allocator holds goes back to the system),
  then the figures line: RSS that drops here was freed memory the allocator kept, not live
  objects.

`start` is optional: without it the figures have no traced bytes and `diff` has nothing to
compare, but the rest (RSS, the C allocator's figures, live objects, registries) still reads.

The figures line names what could hold per-stream state: the engine's running turns and
turns by key (`ai.engine`), asgiref's executors by thread-sensitive context, the thread
pool executors made so far, open SQLite connections, live threads, objects the collector
tracks and the frozen ones (`gc.freeze()`
at start-up), and glibc's `mallinfo2()` over all its arenas: `malloc_used_kib` (in use: C
libraries such as SQLite's page cache, Python's objects over 512 bytes, and chunks kept in
the threads' tcaches), `malloc_free_kib` (freed but still held by the allocator:
fragmentation and high-water) and `mmap_kib` (glibc's own large blocks). Python's small
objects live in pymalloc's arenas, `mmap`ped directly, in none of these.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import linecache
import os
import sqlite3
import threading
import tracemalloc
from pathlib import Path
from urllib.parse import parse_qs

from config.asgi import application as project

PREFIX = "/__bench/memory/"
_snapshots: dict[str, tracemalloc.Snapshot] = {}


def status_kib() -> dict[str, int]:
    """VmRSS and its parts (anonymous, file-backed, shared memory) in KiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            out[name] = int(value.split()[0])
    return out


class MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _libc():
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = MallInfo2
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):  # not glibc (musl, macOS): no allocator figures
        return None


_LIBC = _libc()


def malloc_figures() -> str:
    if _LIBC is None:
        return "malloc=n/a"
    info = _LIBC.mallinfo2()
    return (
        f"malloc_used_kib={info.uordblks // 1024} malloc_free_kib={info.fordblks // 1024} "
        f"mmap_kib={info.hblkhd // 1024}"
    )


def executors_made() -> int:
    """Thread pool executors made so far in this process (each names its thread from this
    counter): request threads the idle pool could not supply, asgiref's per-context ones."""
    from concurrent.futures import ThreadPoolExecutor

    counter = ThreadPoolExecutor._counter  # itertools.count().__next__
    text = repr(getattr(counter, "__self__", counter))  # "count(N)": N is the next one
    return int(text[text.index("(") + 1 : -1]) - 1 if text.startswith("count(") else -1


def sqlite_open() -> int:
    """Open SQLite connections in the process (each holds its own page cache)."""
    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, sqlite3.Connection):
            try:
                obj.total_changes  # noqa: B018 (raises once the connection is closed)
            except sqlite3.ProgrammingError:
                continue
            count += 1
    return count


def figures() -> str:
    from ai import registry

    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    rss = status_kib()
    return (
        f"rss_kib={rss.get('VmRSS', 0)} (anon {rss.get('RssAnon', 0)} file "
        f"{rss.get('RssFile', 0)} shmem {rss.get('RssShmem', 0)}) traced_kib={traced // 1024} "
        f"objects={len(gc.get_objects())} "
        f"frozen={gc.get_freeze_count()} threads={threading.active_count()} "
        f"running_turns={registry.running_count()} turns_by_key={registry.keys_count()} "
        f"executors_made={executors_made()} sqlite_open={sqlite_open()} {malloc_figures()}"
    )


def frame_text(frame: tracemalloc.Frame) -> str:
    root = str(Path(__file__).resolve().parent.parent) + os.sep
    name = frame.filename.replace(root, "")
    marker = "site-packages" + os.sep
    if marker in name:
        name = name.split(marker, 1)[1]
    line = linecache.getline(frame.filename, frame.lineno).strip()
    return f"{name}:{frame.lineno}  {line[:90]}"


def diff(first: str, second: str, top: int) -> str:
    a, b = _snapshots[first], _snapshots[second]
    filters = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, linecache.__file__),
        tracemalloc.Filter(False, __file__, all_frames=True),  # the probe's own
    ]
    a, b = a.filter_traces(filters), b.filter_traces(filters)
    stats = b.compare_to(a, "traceback")
    total = sum(s.size_diff for s in stats)
    count = sum(s.count_diff for s in stats)
    out = [
        f"traced growth {first} -> {second}: {total / 1024:+.1f} KiB in {count:+d} blocks "
        f"(top {top} tracebacks by growth)"
    ]
    for stat in sorted(stats, key=lambda s: s.size_diff, reverse=True)[:top]:
        if stat.size_diff <= 0:
            break
        out.append(
            f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks "
            f"(now {stat.size / 1024:.1f} KiB, {stat.count} blocks)"
        )
        for frame in reversed(stat.traceback):  # innermost frame last
            out.append(f"      {frame_text(frame)}")
    return "\n".join(out)


def command(name: str, query: dict[str, list[str]]) -> str:
    get = lambda key, default="": query.get(key, [default])[0]  # noqa: E731
    if name == "start":
        if not tracemalloc.is_tracing():
            tracemalloc.start(int(os.environ.get("BENCH_TRACE_FRAMES", "6")))
        return figures()
    if name == "snapshot":
        gc.collect()
        if tracemalloc.is_tracing():
            _snapshots[get("name", str(len(_snapshots)))] = tracemalloc.take_snapshot()
        return figures()
    if name == "diff":
        return diff(get("from"), get("to"), int(get("top", "25")))
    if name == "state":
        return figures()
    if name == "trim":
        gc.collect()
        if _LIBC is not None:
            _LIBC.malloc_trim(0)
        return figures()
    raise KeyError(name)


async def application(scope, receive, send):
    if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
        return await project(scope, receive, send)
    query = parse_qs(scope.get("query_string", b"").decode())
    try:
        # Run off the event loop: a snapshot of a large heap takes a while.
        body, status = await asyncio.to_thread(command, scope["path"][len(PREFIX) :], query), 200
    except KeyError as exc:
        body, status = f"unknown: {exc}", 404
    payload = body.encode() + b"\n"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})

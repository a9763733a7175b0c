"""The fan-out benchmark's garbage-collector probe: an ASGI wrapper, for the benchmark only.

bench/fanout.py serves `bench.fanout_probe:application` (FANOUT_APP) when it measures the
collector; production serves `config.asgi:application` and never imports this module. At
import it adds a `gc.callbacks` entry that writes one line per collection to
`$FANOUT_GC_DIR/gc-<pid>.log` (generation, start on `time.perf_counter()`, duration in ms,
objects collected), so the benchmark reads every worker's collections and keeps those that
fall in a window it measured (a connection burst, the rounds).

Variants, for comparing what the collector does (environment, applied at the first
request, after `config.startup` has set production's):
- FANOUT_GC_THRESHOLD=`a,b,c`: `gc.set_threshold(a, b, c)`;
- FANOUT_GC_UNFREEZE=1: the objects `config.startup` froze are handed back to the collector,
  as if nothing had been frozen;
- FANOUT_SWITCH_INTERVAL=`seconds`: `sys.setswitchinterval` (the GIL's).
"""

from __future__ import annotations

import gc
import os
import sys
import time

from config.asgi import application as served

_started: dict[str, float] = {}
_log = None
_first = True


def _record(phase: str, info: dict) -> None:
    if phase == "start":
        _started["at"] = time.perf_counter()
        return
    began = _started.pop("at", None)
    if began is None or _log is None:
        return
    took = (time.perf_counter() - began) * 1000
    _log.write(f"{info['generation']} {began:.6f} {took:.3f} {info['collected']}\n")


def install() -> None:
    global _log
    directory = os.environ.get("FANOUT_GC_DIR")
    if not directory or _log is not None:
        return
    _log = open(  # noqa: SIM115 (kept open for the process's life; line-buffered)
        os.path.join(directory, f"gc-{os.getpid()}.log"), "a", buffering=1
    )
    gc.callbacks.append(_record)


def _variant() -> None:
    if interval := os.environ.get("FANOUT_SWITCH_INTERVAL"):
        sys.setswitchinterval(float(interval))
    if threshold := os.environ.get("FANOUT_GC_THRESHOLD"):
        gc.set_threshold(*(int(n) for n in threshold.split(",")))
    if os.environ.get("FANOUT_GC_UNFREEZE") == "1":
        gc.unfreeze()


install()


async def application(scope, receive, send):
    global _first
    if _first:
        _first = False
        _variant()
    return await served(scope, receive, send)

"""`python -m config.serve_uvicorn`, the one production server entry point: uvicorn's public
options carrying the project's WebSocket limit, no proxy headers and a graceful restart. The
live tests (tests/live.py) serve it; this one checks the wiring without a server."""

from __future__ import annotations

import gc
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import uvicorn

from config import shutdown
from config.serve_uvicorn import (
    load_application,
    parse,
    raise_open_file_limit,
    uvicorn_options,
)
from config.startup import FreezeAfterFullCollections

BASE_DIR = Path(__file__).resolve().parent.parent


def test_the_options_carry_the_contract(settings):
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 3 * 1024 * 1024
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer"}
    }
    options = uvicorn_options(parse(["-b", "0.0.0.0", "-p", "0", "--workers", "2"]))
    # Each worker loads the application through the factory, which freezes start-up objects.
    assert (options["app"], options["factory"]) == ("config.serve_uvicorn:load_application", True)
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 0, 2)
    assert options["ws_max_size"] == 3 * 1024 * 1024
    # uvicorn's own sans-I/O websockets protocol closes an oversize message with 1009 and a
    # reason (tests/realtime/test_live_frame_limit.py), by name, not by a subclass.
    assert options["ws"] == "websockets-sansio"
    # The rate limits key on the client address: never taken from X-Forwarded-For here.
    assert options["proxy_headers"] is False
    assert options["ws_per_message_deflate"] is False
    # The lifespan protocol is answered by the graceful-restart wrapper (config.shutdown).
    assert options["lifespan"] == "on"
    assert options["timeout_graceful_shutdown"] == shutdown.server_timeout()
    assert options["backlog"] >= 1024


def _collector_as_it_was(thresholds) -> None:
    """What the factory did to this (test) process's collector, undone."""
    gc.callbacks[:] = [c for c in gc.callbacks if not isinstance(c, FreezeAfterFullCollections)]
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_factory_loads_the_named_application_and_freezes_start_up_objects(settings):
    uvicorn_options(parse(["config.asgi:application"]))
    from config.asgi import application

    settings.GC_WHOLE_COLLECTION_SECONDS = 60
    before = gc.get_freeze_count()
    thresholds = gc.get_threshold()
    try:
        loaded = load_application()
        assert isinstance(loaded, shutdown.ShutdownAware) and loaded.app is application
        assert gc.get_freeze_count() > before
        # Python's thresholds are kept: a raised one let the SSE relay's memory grow.
        assert gc.get_threshold() == thresholds
        # What survives each full collection is frozen too, with a whole one every minute.
        policies = [c for c in gc.callbacks if isinstance(c, FreezeAfterFullCollections)]
        assert [policy.whole_every for policy in policies] == [60]
    finally:
        _collector_as_it_was(thresholds)


def test_uvicorn_accepts_every_option():
    config = uvicorn.Config(**uvicorn_options(parse(["-v", "0", "config.asgi:application"])))
    thresholds = gc.get_threshold()
    try:
        config.load()
    finally:
        _collector_as_it_was(thresholds)
    from config.asgi import application

    assert config.loaded_app.app is application
    assert config.proxy_headers is False
    assert config.access_log is False
    assert config.ws == "websockets-sansio"


def test_several_workers_without_a_shared_layer_are_refused(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with pytest.raises(SystemExit, match="REDIS_URL"):
        uvicorn_options(parse(["--workers", "2"]))
    assert uvicorn_options(parse(["--workers", "1"]))["workers"] == 1


def served_environment(**environ: str) -> dict[str, str]:
    """The allocator variables `make run` starts the server with, given `environ`."""
    printed = subprocess.run(
        ["make", "-s", "-n", "run"], cwd=BASE_DIR, capture_output=True, text=True, check=True
    ).stdout
    [line] = [line for line in printed.splitlines() if "-m config.serve_uvicorn" in line]
    prefix = line.split("-m config.serve_uvicorn")[0].rsplit(" ", 2)[0]
    shown = subprocess.run(
        ["bash", "-c", f"{prefix} env"],
        env={"PATH": "/usr/bin:/bin", **environ},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = ("MALLOC_ARENA_MAX", "GLIBC_TUNABLES")
    return dict(entry.split("=", 1) for entry in shown.splitlines() if entry.startswith(names))


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_serves_with_the_allocator_limited_and_keeps_an_operators_values():
    assert served_environment() == {
        "MALLOC_ARENA_MAX": "2",
        "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0",
    }
    # An empty GLIBC_TUNABLES keeps glibc's own per-thread cache.
    assert served_environment(MALLOC_ARENA_MAX="4", GLIBC_TUNABLES="") == {
        "MALLOC_ARENA_MAX": "4",
        "GLIBC_TUNABLES": "",
    }


# The server raises its own limit of open files before uvicorn starts (every socket is a
# file): run in a child process that starts with a low soft limit, uvicorn replaced by a
# stub that prints the limit it would run with.
RAISED = """
import resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
import config.serve_uvicorn as serve
serve.compat_uvicorn.run = lambda **options: print(
    resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard, options["port"]
)
serve.main(["-v", "0", "-p", "8765"])
"""


def test_the_server_starts_with_its_open_file_limit_raised_to_the_hard_limit():
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env["SECRET_KEY"] = "test-only"
    shown = subprocess.run(
        [sys.executable, "-c", RAISED],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    soft, hard, port = (int(n) for n in shown)
    assert port == 8765
    if hard == resource.RLIM_INFINITY:
        assert soft >= 256  # Linux refuses an infinite limit of files: the soft one stays
    else:
        assert soft == hard > 256


def test_a_limit_already_at_the_hard_limit_is_left_as_it_is(monkeypatch):
    calls = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (4096, 4096))
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: calls.append(limits))
    assert raise_open_file_limit() == 4096
    assert calls == []


def test_a_refused_raise_keeps_the_limit_it_had(monkeypatch):
    def refuse(which, limits):
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "getrlimit", lambda which: (1024, 65536))
    monkeypatch.setattr(resource, "setrlimit", refuse)
    assert raise_open_file_limit() == 1024

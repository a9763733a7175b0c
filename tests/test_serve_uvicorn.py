"""`python -m config.serve_uvicorn`: uvicorn with the project's WebSocket limit, no proxy
headers and daphne's spelling of the options. The live tests (tests/live.py) serve it; this
one checks the wiring without a server."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest
import uvicorn

from config import serve, serve_uvicorn, shutdown
from config.serve_uvicorn import LingeringCloseProtocol, load_application, parse, uvicorn_options
from config.startup import ALLOCATOR_ENVIRONMENT, allocator_environment


def test_the_options_carry_the_contract(settings):
    settings.WEBSOCKET_MAX_MESSAGE_BYTES = 3 * 1024 * 1024
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "realtime.layers.PooledRedisChannelLayer"}}
    options = uvicorn_options(parse(["-b", "0.0.0.0", "-p", "0", "--workers", "2"]))
    # Each worker loads the application through the factory, which freezes start-up objects.
    assert (options["app"], options["factory"]) == ("config.serve_uvicorn:load_application", True)
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 0, 2)
    assert options["ws_max_size"] == 3 * 1024 * 1024
    # The sans-I/O websockets implementation closes an oversize message with 1009 and a
    # reason; this subclass lingers so the client reads it (tests/realtime/test_live_frame_limit).
    assert options["ws"] is LingeringCloseProtocol
    # The rate limits key on the client address: never taken from X-Forwarded-For here.
    assert options["proxy_headers"] is False
    assert options["ws_per_message_deflate"] is False
    # The lifespan protocol is answered by the graceful-restart wrapper (config.shutdown).
    assert options["lifespan"] == "on"
    assert options["timeout_graceful_shutdown"] == shutdown.server_timeout()
    assert options["backlog"] >= 1024


def test_the_factory_loads_the_named_application_and_freezes_start_up_objects():
    uvicorn_options(parse(["config.asgi:application"]))
    from config.asgi import application

    try:
        loaded = load_application()
        assert isinstance(loaded, shutdown.ShutdownAware) and loaded.app is application
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_uvicorn_accepts_every_option():
    config = uvicorn.Config(**uvicorn_options(parse(["-v", "0", "bench.asgi:application"])))
    try:
        config.load()
    finally:
        gc.unfreeze()
    from bench.asgi import application

    assert config.loaded_app.app is application
    assert config.proxy_headers is False
    assert config.access_log is False
    assert config.ws is LingeringCloseProtocol


def test_several_workers_without_a_shared_layer_are_refused(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    with pytest.raises(SystemExit, match="REDIS_URL"):
        uvicorn_options(parse(["--workers", "2"]))
    assert uvicorn_options(parse(["--workers", "1"]))["workers"] == 1


def test_the_allocator_variables_are_added_once_and_an_operators_are_kept():
    tuned = allocator_environment({"PATH": "/bin"}, platform="linux")
    assert tuned == {"PATH": "/bin", **ALLOCATOR_ENVIRONMENT}
    assert allocator_environment(tuned, platform="linux") is None  # no second restart
    own = allocator_environment({"GLIBC_TUNABLES": ""}, platform="linux")
    assert own == {"GLIBC_TUNABLES": "", "MALLOC_ARENA_MAX": "2"}
    assert allocator_environment({}, platform="darwin") is None


def test_a_serving_process_restarts_itself_with_the_allocator_variables():
    environment = {k: v for k, v in os.environ.items() if k not in ALLOCATOR_ENVIRONMENT}
    script = (
        "import os, sys; from config.startup import restart_with_tuned_allocator; "
        "restart_with_tuned_allocator(); "
        "print(os.getpid(), os.environ.get('MALLOC_ARENA_MAX'), os.environ.get('GLIBC_TUNABLES'))"
    )
    process = subprocess.run(
        [sys.executable, "-c", script, "extra-argument"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    [line] = process.stdout.splitlines()  # one process: replaced, not forked
    if sys.platform.startswith("linux"):
        assert line.split()[1:] == ["2", "glibc.malloc.tcache_count=0"]
    else:
        assert line.split()[1:] == ["None", "None"]


@pytest.mark.parametrize("module", [serve_uvicorn, serve])
def test_both_entry_points_restart_with_the_allocator_tuned_only_as_programs(module, monkeypatch):
    calls = []
    monkeypatch.setattr(module, "restart_with_tuned_allocator", lambda: calls.append("restart"))
    monkeypatch.setattr(sys, "argv", ["serve", "--help"])
    with pytest.raises(SystemExit):
        module.main()  # as `python -m ...`: argv from the command line
    assert calls == ["restart"]
    with pytest.raises(SystemExit):
        module.main(["--help"])  # called with arguments (tests, tools): no restart
    assert calls == ["restart"]

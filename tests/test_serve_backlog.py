"""`python -m config.serve` listens with a backlog of 1024 unless told otherwise, and freezes
the objects alive after start-up out of the garbage collector's reach."""

from __future__ import annotations

import gc

from config import serve

APP = "config.asgi:application"


def test_every_listening_endpoint_gets_the_backlog_unless_it_sets_one():
    assert serve.with_backlog("tcp:port=8000:interface=127.0.0.1", 1024) == (
        "tcp:port=8000:interface=127.0.0.1:backlog=1024"
    )
    assert serve.with_backlog("unix:/tmp/s.sock", 64) == "unix:/tmp/s.sock:backlog=64"
    assert serve.with_backlog("tcp:port=1:backlog=10", 1024) == "tcp:port=1:backlog=10"
    assert serve.with_backlog("fd:fileno=3", 1024) == "fd:fileno=3"


def test_the_server_listens_with_the_option_s_backlog():
    server = serve.LimitedServer(
        application=None, endpoints=["tcp:port=0:interface=127.0.0.1"], listen_backlog=2048
    )
    assert server.endpoints == ["tcp:port=0:interface=127.0.0.1:backlog=2048"]
    default = serve.LimitedServer(application=None, endpoints=["tcp:port=0:interface=127.0.0.1"])
    assert default.endpoints == ["tcp:port=0:interface=127.0.0.1:backlog=1024"]


def test_the_command_line_takes_a_backlog():
    parser = serve.LimitedCommandLineInterface().parser
    assert parser.parse_args([APP]).backlog == 1024
    assert parser.parse_args(["--backlog", "4096", APP]).backlog == 4096


def test_start_up_objects_are_frozen():
    before = gc.get_freeze_count()
    try:
        serve.freeze_start_up_objects()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()

"""The replay logs' one writer per process (ai/replay.py): the events of every turn that are
ready together go to Redis in one pipeline (one thread hop), each log's in order, with its
expiry pushed back only when due, and each log hears its own stop.

A recording client stands in for Redis here (what is sent, in which pipeline); the contract
tests of the resumed stream run the same code against Redis when REDIS_URL is set
(tests/contracts/test_assistant_stream.py)."""

from __future__ import annotations

import asyncio

import pytest

from ai import replay
from ai.events import Delta, Done, Started, from_json


class Pipeline:
    def __init__(self, client: RecordingClient):
        self.client = client
        self.commands: list[tuple] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def xadd(self, name, fields):
        self.commands.append(("XADD", name, fields["e"]))

    def expire(self, name, ttl):
        self.commands.append(("EXPIRE", name))

    def delete(self, *names):
        self.commands.append(("DEL", *names))

    def exists(self, name):
        self.commands.append(("EXISTS", name))

    def execute(self):
        if self.client.down:
            raise ConnectionError("Redis is down")
        self.client.pipelines.append(self.commands)
        return [
            int(command[1] in self.client.stops) if command[0] == "EXISTS" else 1
            for command in self.commands
        ]


class RecordingClient:
    def __init__(self):
        self.pipelines: list[list[tuple]] = []
        self.stops: set[str] = set()
        self.down = False

    def pipeline(self, transaction=True):
        assert transaction is False
        return Pipeline(self)


def logs(client, count, stopped=None):
    made = []
    for n in range(count):
        made.append(replay.ReplayLog(f"chat:{n}", client, on_stop=lambda n=n: stopped.append(n)))
    return made


def sent(client, kind, name=None):
    return [
        c for p in client.pipelines for c in p if c[0] == kind and (name is None or c[1] == name)
    ]


async def test_the_events_of_many_turns_ready_together_go_in_one_pipeline_each_in_order():
    client, stopped = RecordingClient(), []
    many = logs(client, 50, stopped)
    for log in many:
        log.append(Started("m"))
        log.append(Delta("a"))
        log.append(Delta("b"))
    await asyncio.gather(*(log.close() for log in many))

    assert len(client.pipelines) == 1
    for log in many:
        written = [from_json(command[2]) for command in sent(client, "XADD", log.events)]
        assert written == [Started("m"), Delta("a"), Delta("b")]
        assert len(sent(client, "EXISTS", log.stop)) == 1
    assert stopped == []


async def test_events_queued_while_a_round_is_written_go_in_the_next_one():
    client = RecordingClient()
    (log,) = logs(client, 1, [])
    log.append(Started("m"))
    await asyncio.sleep(0)  # the writer's round has begun
    log.append(Delta("a"))
    log.append(Done())
    await log.close()
    assert len(client.pipelines) == 2
    assert [c[0] for c in client.pipelines[1]] == ["XADD", "XADD", "DEL", "EXISTS"]
    assert sent(client, "DEL") == [("DEL", log.live, log.stop)]


async def test_the_expiry_is_pushed_back_on_the_first_write_then_when_due(settings, monkeypatch):
    settings.CHAT_REPLAY_TTL = 600
    now = [1000.0]
    monkeypatch.setattr(replay.time, "monotonic", lambda: now[0])
    client = RecordingClient()
    (log,) = logs(client, 1, [])
    for step in (0, 30, 59.9, 60.1, 90):
        now[0] = 1000.0 + step
        log.append(Delta("x"))
        await log.close()
    # Both keys (events, live) on the first write, then once a tenth of the TTL has passed.
    assert [sum(1 for c in p if c[0] == "EXPIRE") for p in client.pipelines] == [2, 0, 0, 2, 0]


async def test_each_log_hears_only_its_own_stop():
    client, stopped = RecordingClient(), []
    many = logs(client, 3, stopped)
    client.stops.add(many[1].stop)
    for log in many:
        log.append(Delta("a"))
    await asyncio.gather(*(log.close() for log in many))
    assert stopped == [1]


async def test_redis_down_breaks_the_logs_of_the_round_and_nobody_waits(caplog):
    client = RecordingClient()
    client.down = True
    many = logs(client, 3, [])
    for log in many:
        log.append(Delta("a"))
    await asyncio.wait_for(asyncio.gather(*(log.close() for log in many)), 5)
    assert all(log.broken for log in many)
    many[0].append(Delta("b"))  # a broken log writes no more
    assert many[0].pending == []
    assert "Replay log unavailable" in caplog.text


@pytest.mark.parametrize("count", [1, 200])
async def test_a_closed_log_lets_go_of_its_turn(count):
    client = RecordingClient()
    many = logs(client, count, [])
    for log in many:
        log.append(Done())
    await asyncio.gather(*(log.close() for log in many))
    assert all(log.on_stop is replay._nothing for log in many)
    assert len(client.pipelines) == 1

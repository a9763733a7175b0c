"""The fan-out benchmark's load, spread over several processes (bench/fanout_load.py each).

`run_job(job, processes, command_prefix)` starts `processes` load processes (fewer when the
job has fewer clients), gives each a contiguous share of the job's clients (client 0, the
one that sends, in the first), connects them all at once, then runs the rounds: every process
takes the round's marker, the first sends the `user_message`, every process waits for the
reply at its own clients and answers with its last arrivals. A round's time at the last
client is the latest arrival over the processes minus the send time; all are read from
`time.perf_counter()`, the machine's monotonic clock, shared by its processes.

`on_connected` (optional) is called once the handshakes are done and the sockets have
settled, before the first round: the benchmark reads the servers' memory there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOAD = ROOT / "bench" / "fanout_load.py"


class Fleet:
    """Load processes answering one JSON line per command."""

    def __init__(self, count: int, prefix: list[str]):
        self.members = [
            subprocess.Popen(
                [*prefix, sys.executable, str(LOAD)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for member in self.members:
            self._answer(member)  # {"ready": true, ...}

    def _answer(self, member: subprocess.Popen) -> dict:
        line = member.stdout.readline()
        if not line:
            raise RuntimeError(f"load process {member.pid} ended (exit {member.wait()})")
        return json.loads(line)

    def ask(self, commands: list[tuple[int, dict]]) -> list[dict]:
        """Send each (member index, command), then read the answers in the same order: the
        members work on them at the same time."""
        for index, command in commands:
            self.members[index].stdin.write(json.dumps(command) + "\n")
            self.members[index].stdin.flush()
        return [self._answer(self.members[index]) for index, _ in commands]

    def everyone(self, command: dict) -> list[dict]:
        return self.ask([(i, command) for i in range(len(self.members))])

    def close(self) -> None:
        for member in self.members:
            if member.poll() is None:
                try:
                    member.stdin.write(json.dumps({"cmd": "close"}) + "\n")
                    member.stdin.close()
                    member.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    member.kill()
                    member.wait()


def shares(clients: int, processes: int) -> list[tuple[int, int]]:
    """Contiguous [first, last) ranges of client indices, one per process, client 0 first."""
    processes = max(1, min(processes, clients))
    size, extra = divmod(clients, processes)
    ranges, first = [], 0
    for index in range(processes):
        last = first + size + (index < extra)
        ranges.append((first, last))
        first = last
    return ranges


def run_job(
    job: dict,
    processes: int = 1,
    prefix: list[str] | None = None,
    on_connected: Callable[[], dict] | None = None,
) -> dict:
    """The job's rounds, as one result: per round the time to the user's `chat` frame and
    to the assistant's at the last client, handshake times, frame counts, and what
    `on_connected` returned."""
    ranges = shares(job["clients"], processes)
    fleet = Fleet(len(ranges), prefix or [])
    try:
        connected = fleet.ask(
            [
                (
                    index,
                    {
                        "cmd": "connect",
                        "urls": job["urls"],
                        "session": job["session"],
                        "stream": job["stream"],
                        "first": first,
                        "last": last,
                        "in_flight": job.get("in_flight", 10**9),
                        "timeout": job.get("connect_timeout", 30.0),
                    },
                )
                for index, (first, last) in enumerate(ranges)
            ]
        )
        failed = sum(answer["failed"] for answer in connected)
        if failed:
            raise RuntimeError(f"{failed} of {job['clients']} clients could not connect")
        began = min(answer["began"] for answer in connected)
        ended = max(answer["ended"] for answer in connected)
        time.sleep(job.get("settle", 0.5))
        extra = on_connected() if on_connected else {}
        rounds = []
        totals = {"lost": 0, "extra": 0, "broken": 0, "frames": 0, "deltas": 0}
        for number in range(job["warmup"] + job["rounds"]):
            marker = f"fanout {job['tag']} round {number}"
            fleet.everyone({"cmd": "start_round", "marker": marker})
            sent = fleet.ask([(0, {"cmd": "send"})])[0]["sent"]
            answers = fleet.everyone({"cmd": "collect", "linger": job.get("linger", 0.05)})
            if number < job["warmup"]:
                continue
            for answer in answers:
                for key in totals:
                    totals[key] += answer[key]
            users = [a["user_last"] for a in answers]
            finals = [a["final_last"] for a in answers]
            deltas = [a["delta_last"] for a in answers]
            rounds.append(
                {
                    "user_ms": None if None in users else (max(users) - sent) * 1000,
                    "final_ms": None if None in finals else (max(finals) - sent) * 1000,
                    "delta_ms": None if None in deltas else (max(deltas) - sent) * 1000,
                }
            )
            time.sleep(job.get("pause", 0.02))
        closed = sum(answer["closed"] for answer in fleet.everyone({"cmd": "close"}))
    finally:
        fleet.close()
    return {
        "rounds": rounds,
        "connect_ms": [ms for answer in connected for ms in answer["connect_ms"]],
        "burst_ms": (ended - began) * 1000,
        "burst_began": began,
        "burst_ended": ended,
        "closed": closed,
        "load_processes": len(ranges),
        **totals,
        **extra,
    }

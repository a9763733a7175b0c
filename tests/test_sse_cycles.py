"""What a streamed reply leaves for the cycle collector (issue 19: a raised generation-2
threshold lets cyclic garbage pile up between full collections, so each stream should leave
none of its own).

Family A's `POST /api/chats/{id}` runs through the production application with the collector
off; what only the collector could free afterwards is grouped into the reference cycles that
hold it (tests/cycles.py). Every cycle left must be one of the known ones of our dependencies,
which no public API breaks:

- CPython 3.13.0's `asyncio.TaskGroup` keeps the ExceptionGroup it raises in its own
  `__aexit__` frame, whose traceback holds that frame (python/cpython#124958, fixed in later
  3.13 releases); Django's ASGI handler raises through a TaskGroup at the end of every request,
  so the group holds the request's frames and what they hold (about 260 objects a request);
- DRF binds each serializer field to its parent (`field.parent`, the serializer's `fields`),
  so every validated input is a cycle (about 50-100 objects an input);
- the test's event loop is asyncio's, whose socket transport binds its own methods to itself
  (a closed upstream connection: a failed or stopped reply); production serves on uvloop;
- anyio (under the openai SDK's HTTP client) keeps a cancelled task's CancelledError with the
  frame that holds it (a stopped reply: its upstream request is cancelled).
- DRF's `Response.rendered_content` writes the response into its own `renderer_context`
  (`context['response'] = self`), so every rendered JSON answer is a cycle;
- Django's `ASGIHandler.handle` defines its `RequestProcessed` exception class anew for every
  request, and a class is a cycle (its `__mro__`, its `__dict__`'s descriptors).
These two are usually reached from the TaskGroup's cycle (the handler's frame holds the
response and the exception), and then are not cycles of their own in the count; when the
client's disconnect ends the request's TaskGroup first (a race in the in-process client), they
stand alone, and a full run saw them so.

And a turn that ends, however it ends, is freed by reference counting alone.
"""

from __future__ import annotations

import asyncio
import json
import weakref

import httpx
import pytest
from rest_framework.fields import Field
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import BindingDict

from ai import engine, registry
from ai.engine import BaseHooks, TurnPlan
from chats.ai_services import turn_key
from config.asgi import application
from core.errors import DomainError, NotFoundError
from tests.cycles import Cycle, left_for_collector, root_cycles

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://testserver"
STREAMS = 4


@pytest.fixture
async def http():
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url=BASE, timeout=10
    ) as client:
        yield client


def theirs(cycle: Cycle) -> bool:
    """One of the dependencies' cycles named in the module's docstring, or the test's own."""
    if cycle.has("builtins.ExceptionGroup", "frame __aexit__ (asyncio/taskgroups.py)"):
        return True
    if cycle.has("asyncio.selector_events._SelectorSocketTransport"):
        return True
    if cycle.has("asyncio.exceptions.CancelledError", "frame task_done (_backends/_asyncio.py)"):
        return True
    if cycle.has("class django.core.handlers.asgi.ASGIHandler.handle.<locals>.RequestProcessed"):
        return True
    named = {kind for kind in cycle.kinds if kind.__module__ != "builtins"}
    if named == {Response}:
        return True  # DRF's rendered response, naming itself
    if named and all(kind.__module__.split(".")[0] in {"tests", "httpx"} for kind in named):
        return True  # the test's own client, or the fake model server of an earlier test
    return bool(named) and all(issubclass(k, Field | BindingDict) for k in named)


async def new_chat(http) -> str:
    created = await http.post("/api/chats", json={"prompt": "Hello"})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def stream_body(content: str = "Tell me more") -> dict:
    return {"messages": [{"role": "user", "content": content}]}


def sse_kinds(text: str) -> list[str]:
    data = [line[6:] for line in text.split("\n") if line.startswith("data: ")]
    assert data[-1] == "[DONE]", text
    return [json.loads(item)["type"] for item in data[:-1]]


async def settled() -> None:
    """A client reads `[DONE]` as the turn announces its end; its task ends a moment later."""
    for _ in range(200):
        if engine.running_count() == 0:
            return
        await asyncio.sleep(0.01)


async def assert_none_of_ours(work) -> None:
    await work()  # warm up: imports, caches, the client's pool, the idle threads
    await settled()
    garbage = await left_for_collector(work)
    try:
        ours = [str(cycle) for cycle in root_cycles(garbage) if not theirs(cycle)]
        assert ours == [], ours
        assert not [o for o in garbage if isinstance(o, engine.Turn | engine.TurnEvent)]
    finally:
        garbage.clear()


async def test_a_streamed_reply_leaves_no_cycle_of_ours(unlimited_turns, http):
    async def streams():
        for _ in range(STREAMS):
            response = await http.post(f"/api/chats/{await new_chat(http)}", json=stream_body())
            assert response.status_code == 200 and sse_kinds(response.text)[-1] == "finish"
        await settled()

    await assert_none_of_ours(streams)


async def test_a_model_failure_mid_stream_leaves_no_cycle_of_ours(unlimited_turns, http):
    async def failures():
        for _ in range(STREAMS):
            unlimited_turns.cut_stream(2, text="one two three four")
            response = await http.post(f"/api/chats/{await new_chat(http)}", json=stream_body())
            assert sse_kinds(response.text)[-2:] == ["error", "finish"]
        await settled()

    await assert_none_of_ours(failures)


async def test_a_failed_prepare_leaves_no_cycle_of_ours(unlimited_turns, http):
    body = {**stream_body(), "trigger": "regenerate-message", "messageId": "msg-unknown"}

    async def refusals():
        for _ in range(STREAMS):
            response = await http.post(f"/api/chats/{await new_chat(http)}", json=body)
            assert response.status_code == 404, response.text
        await settled()

    await assert_none_of_ours(refusals)


async def test_a_stopped_reply_leaves_no_cycle_of_ours(unlimited_turns, http):
    async def stops():
        for _ in range(STREAMS):
            unlimited_turns.slow_stream("one two three four five six seven eight", interval=0.05)
            chat_id = await new_chat(http)
            streaming = asyncio.create_task(http.post(f"/api/chats/{chat_id}", json=stream_body()))
            for _ in range(200):
                if registry.find(turn_key(chat_id)) is not None:
                    break
                await asyncio.sleep(0.01)
            stopped = await http.delete(f"/api/chats/{chat_id}/stream")
            assert stopped.json() == {"stopped": True}
            assert sse_kinds((await streaming).text)[-1] == "finish"
        await settled()

    await assert_none_of_ours(stops)


# --- a turn that ends is freed without the collector ------------------------------------------


class Hooks(BaseHooks):
    """A turn of its own, not claimed; `prepare` can fail, and names the turn it runs in."""

    task = "dialogue"

    def __init__(self, *, fail: bool = False):
        self.fail = fail
        self.turn: weakref.ref | None = None

    async def prepare(self) -> TurnPlan:
        self.turn = weakref.ref(registry.running_turn())
        if self.fail:
            raise NotFoundError("No such conversation")
        return TurnPlan("You are terse.", [])

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> str:
        return text


@pytest.fixture
def no_collector():
    import gc

    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_a_turn_whose_prepare_fails_is_freed_without_the_collector(fake_openai, no_collector):
    hooks = Hooks(fail=True)
    with pytest.raises(DomainError):
        await engine.start(key="cycles.prepare", hooks=hooks)
    await settled()
    assert hooks.turn is not None and hooks.turn() is None


async def test_a_turn_that_fails_mid_stream_is_freed_without_the_collector(
    fake_openai, no_collector
):
    fake_openai.cut_stream(2, text="one two three four")
    turn = await engine.start(key="cycles.failure", hooks=Hooks())
    ended = weakref.ref(turn)
    with pytest.raises(DomainError):
        await turn.result()
    del turn
    await settled()
    assert ended() is None


async def test_a_stopped_turn_is_freed_without_the_collector(fake_openai, no_collector):
    fake_openai.slow_stream("one two three four five six", interval=0.05)
    turn = await engine.start(key="cycles.stop", hooks=Hooks())
    ended = weakref.ref(turn)
    await turn.changed(1)  # the first delta
    assert turn.stop()
    assert (await turn.result()).stopped
    del turn
    await settled()
    assert ended() is None


async def test_a_failure_asked_for_after_the_turn_ended_is_still_raised(fake_openai, no_collector):
    fake_openai.cut_stream(1, text="one two")
    turn = await engine.start(key="cycles.late", hooks=Hooks())
    await settled()
    with pytest.raises(DomainError):
        await turn.result()
    ended = weakref.ref(turn)
    del turn
    assert ended() is None

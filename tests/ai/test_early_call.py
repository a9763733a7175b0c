"""A model call begun while a turn's prepare step commits (`engine.plan_known`): the model is
asked before prepare returns, nothing it answers is emitted before then, and a prepare that
fails afterwards, or a stop meanwhile, drops the call; while other turns prepare, the call
waits for prepare. The chat's own prepare says its plan before its batch commits, and its
user line is stored before the first token goes out.

Through the real openai SDK path against the local fake server (tests/fake_openai.py)."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from django.db import connections
from django.db.backends.utils import CursorWrapper

from ai import engine, events, registry
from chats import ai_services
from chats.models import Message
from tests.factories import ChatFactory
from tests.fake_openai import CHAT

TIMEOUT = 10


async def wait_for(predicate, timeout: float = TIMEOUT) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


class EarlyHooks(engine.BaseHooks):
    """Says its plan, then holds prepare open until told to return (or to fail)."""

    task = "dialogue"

    def __init__(self, fake, *, fail: bool = False) -> None:
        self.fake = fake
        self.fail = fail
        self.release = asyncio.Event()
        self.seen_while_preparing: list[str] = []
        self.asked_while_preparing = False
        self.persisted: list[str] = []

    async def prepare(self) -> engine.TurnPlan:
        plan = engine.TurnPlan("You answer briefly.", [{"role": "user", "content": "Hello"}])
        engine.plan_known(plan)
        await wait_for(lambda: len(self.fake.requests_to(CHAT)) == 1)
        self.asked_while_preparing = True
        await self.release.wait()
        turn = registry.running_turn()
        self.seen_while_preparing = [event.kind for event in turn.events]
        if self.fail:
            raise ValueError("prepare refused after its plan")
        return plan

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> str:
        self.persisted.append(text)
        return text


async def test_the_model_is_asked_before_prepare_returns_and_answers_only_after(fake_openai):
    fake_openai.queue_chat("Hi there, early.")
    hooks = EarlyHooks(fake_openai)
    starting = asyncio.create_task(engine.start(key="test.early", hooks=hooks))
    await wait_for(lambda: hooks.asked_while_preparing)
    await asyncio.sleep(0.2)  # the whole reply has come back by now, held back
    hooks.release.set()
    turn = await starting
    outcome = await turn.result()

    assert hooks.seen_while_preparing == []
    kinds = [event.kind for event in turn.events]
    assert kinds[0] == events.STARTED and kinds[-2:] == [events.SAVED, events.DONE]
    assert set(kinds[1:-2]) == {events.DELTA}
    assert outcome.message == "Hi there, early." and hooks.persisted == ["Hi there, early."]
    assert len(fake_openai.requests_to(CHAT)) == 1  # asked once, not again after prepare


async def test_a_prepare_that_fails_after_its_plan_drops_the_call(fake_openai):
    words = " ".join(f"word{i}" for i in range(200))
    fake_openai.slow_stream(words, interval=0.02)
    hooks = EarlyHooks(fake_openai, fail=True)
    starting = asyncio.create_task(engine.start(key="test.early-fails", hooks=hooks))
    await wait_for(lambda: hooks.asked_while_preparing)
    hooks.release.set()
    with pytest.raises(ValueError, match="prepare refused after its plan"):
        await starting

    # The upstream saw its client go (the SDK's response closed), well before the reply's end.
    assert await asyncio.to_thread(fake_openai.disconnected.wait, TIMEOUT)
    assert hooks.persisted == []
    assert engine.in_flight("test.early-fails") is None


async def test_a_stop_while_preparing_after_the_plan_stores_nothing(fake_openai):
    words = " ".join(f"word{i}" for i in range(200))
    fake_openai.slow_stream(words, interval=0.02)
    hooks = EarlyHooks(fake_openai)
    starting = asyncio.create_task(engine.start(key="test.early-stop", hooks=hooks))
    await wait_for(lambda: hooks.asked_while_preparing)
    turn = engine.in_flight("test.early-stop")
    assert turn is not None and turn.stop()
    hooks.release.set()
    turn = await starting
    outcome = await turn.result()

    assert outcome.stopped and outcome.message is None and hooks.persisted == []
    assert [event.kind for event in turn.events] == [events.STARTED, events.SAVED, events.DONE]
    assert await asyncio.to_thread(fake_openai.disconnected.wait, TIMEOUT)


class HeldHooks(engine.BaseHooks):
    """Prepares until told to return, without saying its plan early."""

    task = "dialogue"

    def __init__(self) -> None:
        self.preparing = asyncio.Event()
        self.release = asyncio.Event()

    async def prepare(self) -> engine.TurnPlan:
        self.preparing.set()
        await self.release.wait()
        return engine.TurnPlan("You answer briefly.", [{"role": "user", "content": "Hi"}])

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> str:
        return text


class PlanThenWaitHooks(engine.BaseHooks):
    """Says its plan, then looks whether the model was asked before it returns."""

    task = "dialogue"

    def __init__(self, fake) -> None:
        self.fake = fake
        self.asked_while_preparing: bool | None = None

    async def prepare(self) -> engine.TurnPlan:
        plan = engine.TurnPlan("You answer briefly.", [{"role": "user", "content": "Hello"}])
        engine.plan_known(plan)
        await asyncio.sleep(0.5)  # an early call reaches the fake upstream in milliseconds
        self.asked_while_preparing = bool(self.fake.requests_to(CHAT))
        return plan

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> str:
        return text


async def test_a_turn_preparing_beside_another_asks_the_model_only_once_prepared(fake_openai):
    """Other starts preparing: the core is the wait, so the call is not made early (its first
    token would only wait for the commit); it is made once prepare has returned."""
    fake_openai.queue_chat("Asked after prepare.")
    fake_openai.queue_chat("The other's reply.")
    other = HeldHooks()
    other_starting = asyncio.create_task(engine.start(key="test.early-other", hooks=other))
    await asyncio.wait_for(other.preparing.wait(), TIMEOUT)
    hooks = PlanThenWaitHooks(fake_openai)
    turn = await engine.start(key="test.early-beside", hooks=hooks)
    outcome = await turn.result()
    other.release.set()
    other_outcome = await (await other_starting).result()

    assert hooks.asked_while_preparing is False
    assert outcome.message == "Asked after prepare."
    assert other_outcome.message == "The other's reply."
    assert len(fake_openai.requests_to(CHAT)) == 2


async def test_a_turn_preparing_alone_asks_the_model_before_it_returns(fake_openai):
    fake_openai.queue_chat("Asked early.")
    hooks = PlanThenWaitHooks(fake_openai)
    turn = await engine.start(key="test.early-alone", hooks=hooks)
    outcome = await turn.result()

    assert hooks.asked_while_preparing is True
    assert outcome.message == "Asked early."
    assert len(fake_openai.requests_to(CHAT)) == 1


def test_outside_a_turn_plan_known_does_nothing():
    engine.plan_known(engine.TurnPlan("x", []))  # no turn runs this code: nothing to call


@pytest.mark.django_db(transaction=True)
async def test_a_chats_line_is_committed_before_its_first_token_and_the_model_asked_before(
    fake_openai, monkeypatch
):
    """The chat's prepare says its plan before its batch commits: the commit finds the model
    already asked, and the first `Delta` finds the user line stored for every connection."""
    chat = await database_sync_to_async(ChatFactory)()
    fake_openai.queue_chat("Stored first, then said.")
    asked_at_commit: list[bool] = []
    wrapper_class = type(connections["default"])
    commit = wrapper_class.commit

    def commit_after_the_call(self):
        # The batch's commit, on its thread: the loop asks the model meanwhile.
        deadline = time.monotonic() + TIMEOUT
        while not fake_openai.requests_to(CHAT) and time.monotonic() < deadline:
            time.sleep(0.01)
        asked_at_commit.append(bool(fake_openai.requests_to(CHAT)))
        return commit(self)

    monkeypatch.setattr(wrapper_class, "commit", commit_after_the_call)
    turn, _ = await ai_services.reply_start(
        chat_id=chat.pk, owner=None, user_id="msg-line", user_content="Say it", model=None
    )
    monkeypatch.setattr(wrapper_class, "commit", commit)
    stored_at_first_delta = None
    async for event in turn.subscribe():
        if isinstance(event, events.Delta) and stored_at_first_delta is None:
            stored_at_first_delta = await asyncio.to_thread(_line_stored_elsewhere, "msg-line")
    await turn.result()

    assert asked_at_commit[:1] == [True]
    assert stored_at_first_delta is True


@pytest.mark.django_db(transaction=True)
async def test_a_new_line_has_the_model_asked_before_it_is_written(fake_openai, monkeypatch):
    """A new user line's history is known once the chat's messages are read: the model is
    asked then, and the line's INSERT (and the leaf's UPDATE after it) run while the request
    goes out. The prompt ends with the new line all the same."""
    chat = await database_sync_to_async(ChatFactory)()
    fake_openai.queue_chat("Asked first, then stored.")
    asked_at_insert: list[bool] = []
    execute = CursorWrapper.execute

    def insert_after_the_call(self, sql, params=None):
        if sql.startswith('INSERT INTO "chats_message"'):
            deadline = time.monotonic() + TIMEOUT
            while not fake_openai.requests_to(CHAT) and time.monotonic() < deadline:
                time.sleep(0.01)
            asked_at_insert.append(bool(fake_openai.requests_to(CHAT)))
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", insert_after_the_call)
    turn, hooks = await ai_services.reply_start(
        chat_id=chat.pk, owner=None, user_id="msg-new", user_content="Ask early", model=None
    )
    monkeypatch.setattr(CursorWrapper, "execute", execute)
    outcome = await turn.result()

    assert asked_at_insert == [True]
    [request] = fake_openai.requests_to(CHAT)
    assert request.body["messages"][-1] == {"role": "user", "content": "Ask early"}
    assert outcome.message.content == "Asked first, then stored."
    assert hooks.user_message.client_id == "msg-new" and hooks.user_message.pk is not None
    stored = await asyncio.to_thread(_line_stored_elsewhere, "msg-new")
    assert stored is True


def _line_stored_elsewhere(client_id: str) -> bool:
    """From a thread of its own (its own connection): committed rows only."""
    try:
        return Message.objects.filter(client_id=client_id).exists()
    finally:
        connections.close_all()

"""Replies that end together are stored together (core/db_batch.py): a chat reply's store is a
unit of the loop's database batch, as its start is, so fifty replies ending at once take one
thread and one transaction instead of fifty. Through the real openai SDK path against the
local fake server (tests/fake_openai.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest
from channels.db import database_sync_to_async

from chats import ai_services
from chats.models import Chat, Message, MessageRole
from core import db_batch
from core.metrics import REGISTRY
from tests.factories import ChatFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 10


def _batches() -> tuple[float, float]:
    return (
        REGISTRY.get_sample_value("aistory_db_batch_units_count") or 0.0,
        REGISTRY.get_sample_value("aistory_db_batch_units_sum") or 0.0,
    )


async def _wait_for(predicate) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_replies_that_end_together_are_stored_in_one_batch(fake_openai):
    chats = [await database_sync_to_async(ChatFactory)() for _ in range(2)]
    for text in ("First reply here.", "Second reply here."):
        fake_openai.slow_stream(text, interval=0.05)
    turns = []
    for index, chat in enumerate(chats):
        turn, _ = await ai_services.reply_start(
            chat_id=chat.pk, owner=None, user_id=f"msg-line-{index}", user_content="Hi", model=None
        )
        turns.append(turn)

    # The batcher busy with a unit of its own: what arrives meanwhile waits for the next batch.
    running, release = threading.Event(), threading.Event()

    def hold() -> None:
        running.set()
        release.wait(TIMEOUT)

    holding = asyncio.create_task(db_batch.run(hold))
    assert await asyncio.to_thread(running.wait, TIMEOUT)
    before = _batches()
    batcher = db_batch._batchers[asyncio.get_running_loop()]
    await _wait_for(lambda: len(batcher.queued) == 2)  # both replies' stores, queued
    release.set()
    await holding
    outcomes = [await turn.result() for turn in turns]

    count, units = _batches()
    assert (count - before[0], units - before[1]) == (1, 2)  # one batch, the two stores
    assert [outcome.message.content for outcome in outcomes] == [
        "First reply here.",
        "Second reply here.",
    ]
    for chat, outcome in zip(chats, outcomes, strict=True):
        reply = await Message.objects.aget(pk=outcome.message.pk)
        assert (reply.chat_id, reply.role) == (chat.pk, MessageRole.ASSISTANT)
        assert (await Chat.objects.aget(pk=chat.pk)).leaf_id == reply.pk

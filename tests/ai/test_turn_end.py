"""The end of a turn (ai/engine.py): a reader that has read `Done` finds the conversation
free, so its client may ask again at once (the AI SDK's next `sendMessage` does)."""

from __future__ import annotations

import pytest

from ai import engine, events, registry
from ai.types import ChatMessage

KEY = "test.turn-end"


class ClaimingHooks(engine.BaseHooks):
    """A turn that takes its conversation one turn at a time, as a chat's does."""

    task = "dialogue"

    async def prepare(self) -> engine.TurnPlan:
        assert registry.claim(KEY)
        history: list[ChatMessage] = [{"role": "user", "content": "Hello"}]
        return engine.TurnPlan("You answer briefly.", history)

    async def persist(self, text: str, *, reply_id: str, stopped: bool) -> str:
        return text


@pytest.mark.parametrize("subscribe", [True, False], ids=["subscriber", "event-reader"])
async def test_a_reader_that_reads_done_finds_the_conversation_free(fake_openai, subscribe):
    fake_openai.queue_chat("Hi there.")
    turn = await engine.start(key=KEY, hooks=ClaimingHooks())
    assert await registry.busy(KEY)

    seen: list[str] = []
    if subscribe:
        async for event in turn.subscribe():
            seen.append(event.kind)
            if isinstance(event, events.Done):
                assert not await registry.busy(KEY)
                assert engine.in_flight(KEY) is None
    else:  # the SSE transport's way: its own place in `events`, woken by `changed`
        index = 0
        while not seen or seen[-1] != events.DONE:
            await turn.changed(index)
            for event in turn.events[index:]:
                seen.append(event.kind)
                if isinstance(event, events.Done):
                    assert not await registry.busy(KEY)
                    assert engine.in_flight(KEY) is None
            index = len(turn.events)

    assert seen[0] == events.STARTED and seen[-2:] == [events.SAVED, events.DONE]
    assert (await turn.result()).message == "Hi there."

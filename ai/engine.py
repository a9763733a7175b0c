"""The one turn engine: every family's AI turn runs through a `Turn`.

A turn is prepare → announce → stream → persist → publish:

1. **prepare** (the family's hook, a short locked transaction): check the conversation, claim
   it in the turn registry when it takes one turn at a time (`ai.registry.claim`), store the
   user's line, return the system prompt and history;
2. **announce**: the reply's id is allocated before the first token (`Started`), so a stream
   can name the message that will hold the reply;
3. **stream** the model: `Delta` and `Reasoning` events as they arrive. A prepare step that
   says its plan before it commits (`plan_known`) may have the model called during the
   commit; its answer is still emitted only after prepare has returned;
4. **persist** (the family's hook): the whole reply is stored; its service publishes the
   stored message to the family's sockets after commit; `Saved`;
5. the family may add events after the reply is stored (`State`, `Choices`).
A failure ends the turn with `Error` instead. `Done` is always the last event of a turn that
started. Events are typed (`ai.events`); each transport renders them.

The turn runs as an asyncio task of its own, so the transport that asked for it (a socket, an
SSE response, a JSON view) only starts it or attaches to it: a client that goes away never
cancels it, and a reply is stored even when nobody listens any more. `Turn.stop()` (or
`registry.stop(key)` from any process) is the one way to end it early: the upstream call is
cancelled (its HTTP connection closed) and what was generated so far is stored, marked as
stopped. Every turn passes the limits every model call passes (`ai.limits`: the process's
cap and the caller's rate) before anything is written.

Events are kept for the turn's lifetime, so a late subscriber (a resumed stream) replays them
from the first and then follows live; a claimed turn also logs them in Redis (`ai.replay`),
so another process can resume or stop it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable

from django.conf import settings

from ai import client as ai
from ai import events, limits, registry, replay
from ai.errors import AIServiceError
from ai.events import Delta, Done, Error, Reasoning, Saved, Started, TurnEvent
from ai.prompting import PER_MESSAGE_OVERHEAD as PER_MESSAGE_OVERHEAD
from ai.prompting import SentPrompt, build_prompt
from ai.prompting import estimate_tokens as estimate_tokens
from ai.providers import get_provider
from ai.task_ends import clear_frames, retrieved
from ai.turn_hooks import BaseHooks as BaseHooks  # re-exported: the families' base
from ai.turn_hooks import TurnHooks, TurnOutcome, TurnPlan  # also re-exported
from ai.types import ReasoningText
from core import logcontext, metrics, threads
from core.errors import ConflictError, DomainError, ErrorCode

logger = logging.getLogger("ai.engine")

# Re-exported: callers test an event's `kind` and catch the cap's refusal by these names.
STARTED, DELTA, REASONING, SAVED = events.STARTED, events.DELTA, events.REASONING, events.SAVED
ERROR, STATE, CHOICES, DONE = events.ERROR, events.STATE, events.CHOICES, events.DONE
TurnsBusy = limits.TurnsBusy

_preparing: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # loop: turns preparing


class ConversationBusy(ConflictError):
    """The conversation already has AI_TURNS_PER_CONVERSATION replies in progress."""


class Turn:
    """One reply in its own task: its events (kept for late subscribers) and its stop."""

    def __init__(self, *, key: str, hooks: TurnHooks):
        self.key = key
        self.claimed = False  # `registry.claim` took `key` for this turn
        self.hooks = hooks
        self.reply_id: str | None = None
        self.events: list[TurnEvent] = []
        self.finished = False
        self.stopped = False
        self.log: replay.ReplayLog | None = None
        self._wakeup = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._ready: asyncio.Future | None = self._loop.create_future()
        self._stream_task: asyncio.Task | None = None
        # A model call begun while prepare commits (`plan_known`): what its pieces are kept
        # in, and what holds its first piece back until prepare has returned.
        self._early_parts: list[str] | None = None
        self._gate: asyncio.Future | None = None
        self._task: asyncio.Task | None = None
        # Once the task has ended (`_ended`): how, for a `result()` asked after that.
        self._outcome: TurnOutcome | None = None
        self._failure: BaseException | None = None

    # --- public ---------------------------------------------------------------------------

    def result(self) -> Awaitable[TurnOutcome]:
        """Wait for the turn to end; the caller's cancellation does not cancel the turn.

        Not a coroutine: no frame of the turn's holds it while a failure passes. A failure
        asked for after the end is handed over once (kept, its traceback through the caller's
        frames would hold the turn); asked again, it is a plain `AIServiceError`."""
        if self._task is not None and self._task.done():
            self._ended(self._task)  # before its callback runs
        if self._task is not None:
            return asyncio.shield(self._task)
        ended = asyncio.get_running_loop().create_future()
        if self._outcome is not None:
            ended.set_result(self._outcome)
        elif self._failure is not None:
            ended.set_exception(self._failure)
            self._failure = None
        else:
            ended.set_exception(AIServiceError("The AI turn failed; please retry"))
        return ended

    async def subscribe(self) -> AsyncIterator[TurnEvent]:
        """Every event from the first, then live ones until the turn ends."""
        index = 0
        while True:
            while index < len(self.events):
                yield self.events[index]
                index += 1
            if self.finished:
                return
            await self._wakeup.wait()

    async def changed(self, seen: int) -> None:
        """Return once the turn has more than `seen` events, or has ended (a reader that
        keeps its own place in `events`, as the SSE transport does)."""
        while len(self.events) <= seen and not self.finished:
            await self._wakeup.wait()

    def stop(self) -> bool:
        """End the reply now; what was generated is stored, marked as stopped (nothing when
        no text came yet). False when there is nothing left to stop (the reply is complete
        and being stored, or the turn has ended)."""
        if self.finished or self.stopped:
            return False
        if self._stream_task is None:
            # Still preparing: the turn will not call the model at all.
            self.stopped = True
            return True
        if self._stream_task.done():
            return False
        self.stopped = True
        self._stream_task.cancel()
        return True

    async def emit(self, event: TurnEvent) -> None:
        """Record an event, wake the subscribers, log it for other processes, and let the
        family relay it (in order: the turn waits for the relay, as a socket group send must
        not overtake the next delta)."""
        self.events.append(event)
        wakeup, self._wakeup = self._wakeup, asyncio.Event()
        wakeup.set()
        if self.log is not None:
            self.log.append(event)
        try:
            await self.hooks.on_event(event)
        except Exception:
            logger.exception("Relaying a turn event failed")

    def _ended(self, task: asyncio.Task) -> None:
        """The task's end: keep how it ended, not the task, and retrieve its failure (a turn
        whose client left must not log "exception was never retrieved"). The failure's
        traceback holds the turn's frames, which hold the turn, so their locals go."""
        if self._task is not task:  # already recorded
            return
        self._task = None
        if task.cancelled():
            self._failure = asyncio.CancelledError()
            return
        failure = task.exception()
        if failure is None:
            self._outcome = task.result()
            return
        clear_frames(failure)
        if self.reply_id is not None:
            # Kept for `result()`; a failed prepare's went to `start`'s caller (and its first
            # frame's callers, `f_back`, may reach a context naming the turn).
            self._failure = failure

    # --- the turn -------------------------------------------------------------------------

    async def _run_on_own_thread(self) -> TurnOutcome:
        """The turn outlives the request that started it, so its sync calls run on a reused
        thread of its own (core/threads.py), not on the request's."""
        async with threads.reused_thread():
            return await self._run()

    async def _run(self) -> TurnOutcome:
        turn_token = registry.current_turn.set(weakref.ref(self))
        limits_token = limits.inside_turn.set(True)
        try:
            _preparing[self._loop] = _preparing.get(self._loop, 0) + 1
            try:
                plan = await self.hooks.prepare()
            except asyncio.CancelledError:
                self._drop_early_call()
                self._ready.cancel()
                raise
            except BaseException as exc:
                self._drop_early_call()
                self._ready.set_exception(exc)
                raise
            finally:
                _preparing[self._loop] -= 1
            self.reply_id = plan.reply_id or f"msg-{uuid.uuid4().hex}"
            if self.claimed:
                self.log = replay.log_for(self.key, on_stop=self.stop)
            self._ready.set_result(None)
            await self.emit(Started(self.reply_id))
            try:
                outcome = await self._stream_and_persist(plan)
            except DomainError as exc:
                await self.emit(Error(str(exc.code), exc.message))
                raise
            except Exception as exc:
                logger.exception("AI turn failed")
                await self.emit(Error(str(ErrorCode.AI_SERVICE_ERROR), "The AI turn failed"))
                raise AIServiceError("The AI turn failed; please retry") from exc
            return outcome
        finally:
            try:
                await self._end()
            finally:
                # The task's context outlives the turn (the task holds it, the turn holds the
                # task): leave no way back to the turn in it.
                registry.current_turn.reset(turn_token)
                limits.inside_turn.reset(limits_token)

    async def _end(self) -> None:
        """Record `Done`, free everything the turn holds, and only then announce the end: a
        client that reads `Done` and asks again at once finds the conversation free, and the
        process's turn count already down."""
        done = Done() if self.events else None
        if done is not None and self.log is not None:
            self.log.append(done)  # the log frees the conversation as it writes `done`
        if self.log is not None:
            await self.log.close()
        if self.claimed and (self.log is None or self.log.broken):
            await asyncio.to_thread(replay.release, self.key)
        registry.remove(self)
        limits.release()
        metrics.TURNS_IN_FLIGHT.dec()
        # Readers here see `Done` only now: a reader woken while the turn was still freeing
        # the conversation would otherwise read `Done` early, and its client's next request
        # could find the conversation busy.
        if done is not None:
            self.events.append(done)
        # The stream's task was made in the turn's context (which names the turn): drop it,
        # so that an ended turn is freed by reference counting alone.
        self._stream_task = None
        self.finished = True
        self._wakeup.set()
        if done is not None:
            try:
                await self.hooks.on_event(done)
            except Exception:
                logger.exception("Announcing the end of a turn failed")

    def _call_early(self, plan: TurnPlan) -> None:
        """`plan_known`, on the turn's loop: call the model now (`_stream` holds the first
        piece back), unless prepare has returned, the turn was stopped or other turns prepare:
        then the core is what every start waits for, the call brings no token sooner, and its
        first waits for the commit (bench/README.md, "The first token held for the commit")."""
        if self._stream_task is not None or self.reply_id is not None or self.stopped:
            return
        if _preparing.get(self._loop, 0) > 1:
            return
        self._gate = self._loop.create_future()
        self._early_parts = []
        self._stream_task = asyncio.create_task(self._stream(plan, self._early_parts))

    def _drop_early_call(self) -> None:
        """Prepare failed after `plan_known`: the model's answer will not be used."""
        task, self._stream_task, self._gate, self._early_parts = self._stream_task, None, None, None
        if task is not None:
            task.cancel()
            task.add_done_callback(retrieved)

    async def _stream_and_persist(self, plan: TurnPlan) -> TurnOutcome:
        if self._stream_task is None:
            parts: list[str] = []
            self._stream_task = asyncio.create_task(self._stream(plan, parts))
        else:  # begun while prepare committed (`plan_known`): its pieces may go out now
            parts = self._early_parts
            self._gate.set_result(None)
            self._gate = self._early_parts = None
        if self.stopped:  # stopped while preparing
            self._stream_task.cancel()
        try:
            await self._stream_task
        except asyncio.CancelledError as cancelled:
            if not self.stopped:
                # The turn itself is cancelled (the process shuts down): end the stream too.
                self._stream_task.cancel()
                raise
            # Stopped: the model client's own cycles may keep this error a while, and its
            # traceback's frames hold the turn.
            clear_frames(cancelled)
        text = "".join(parts).strip()
        if not text and not self.stopped:
            raise AIServiceError("The AI model returned an empty reply")
        message = None
        if text:
            message = await self.hooks.persist(text, reply_id=self.reply_id, stopped=self.stopped)
        await self.emit(Saved(self.reply_id, self.stopped, message))
        extras = {}
        if message is not None and not self.stopped:
            extras = await self.hooks.after_saved(message, self.emit) or {}
        return TurnOutcome(message=message, stopped=self.stopped, extras=extras)

    async def _stream(self, plan: TurnPlan, parts: list[str]) -> None:
        messages = build_prompt(
            system_prompt=plan.system_prompt, history=plan.history, post_history=plan.post_history
        )
        task = self.hooks.task
        # The model and provider `ai.stream_chat` calls: the plan's model, else the task's.
        model = plan.model or settings.AI_TASKS[task]["model"]
        self.hooks.on_prompt(SentPrompt(messages, model, get_provider(task).name))
        gate = self._gate  # begun early: nothing is emitted before prepare has returned
        stream = ai.stream_chat(task=task, messages=messages, model=plan.model)
        async for delta in stream:
            if gate is not None:
                await gate
                gate = None
            if isinstance(delta, ReasoningText):
                await self.emit(Reasoning(str(delta)))
                continue
            parts.append(delta)
            await self.emit(Delta(delta))


async def start(*, key: str, hooks: TurnHooks, caller: str | None = None) -> Turn:
    """Start a turn in its own task and wait until it is prepared.

    Raises what `prepare` raised (nothing was streamed then: a family's "busy" answer when
    its claim failed), and before anything is written: `TurnsBusy` when the process runs
    AI_TURNS_MAX_CONCURRENT model calls (`ai.limits`), `ConversationBusy` when the
    conversation has AI_TURNS_PER_CONVERSATION turns running here, `RateLimited` when
    `caller` (a user or address) has used up AI_TURN_RATE. Model calls cost money: these
    limits come on top of the request limits, for REST and sockets alike.
    """
    limits.check_capacity()
    per_conversation = settings.AI_TURNS_PER_CONVERSATION
    if per_conversation and registry.count(key) >= per_conversation:
        metrics.turn_refused("conversation_busy")
        raise ConversationBusy(
            "This conversation already has a reply in progress; wait for it or stop it"
        )
    limits.check_rate(caller)
    turn = Turn(key=key, hooks=hooks)
    limits.acquire()
    metrics.TURNS_IN_FLIGHT.inc()
    registry.add(turn)
    turn._task = asyncio.create_task(turn._run_on_own_thread())
    turn._task.add_done_callback(turn._ended)
    # The caller may go away while the turn prepares; the turn goes on regardless.
    try:
        await asyncio.shield(turn._ready)
    except BaseException:
        if turn._ready.done():  # prepare failed (not the caller cancelled): nothing waits
            turn._ready = None
        # The failure's traceback holds this frame: it must not hold the turn.
        del turn
        raise
    turn._ready = None
    logcontext.turn_id.set(turn.reply_id)  # the caller's request log names the reply
    return turn


def plan_known(plan: TurnPlan) -> None:
    """Call from a turn's prepare step (its thread or its task) once the prompt is decided,
    before its writes commit: if no other turn of its loop prepares, the model is called now,
    while the writes, the commit and the way back to the loop run. Nothing it answers goes
    out before prepare has returned, so the user's line is durable first; a prepare that
    fails after this cancels the call. `plan` must be the plan prepare returns. Outside a
    turn, nothing happens."""
    turn = registry.running_turn()
    if turn is not None:
        turn._loop.call_soon_threadsafe(turn._call_early, plan)


def in_flight(key: str) -> Turn | None:
    """The running turn of a conversation in this process, if any (`registry.find`)."""
    return registry.find(key)


def running_count() -> int:
    """How many turns run in this process."""
    return registry.running_count()


def stop_all() -> int:
    """Stop every turn of this process (the server shuts down and the grace is over): each
    stores what it generated, marked as stopped. Returns how many were stopped."""
    return sum(turn.stop() for turn in registry.running())

"""A socket's rights are checked again while it lives, not only at connect
(realtime/consumers/rights.py).

Both sockets are driven through the served stack (origin check, JWT middleware, routing, the
consumers) with channels' WebsocketCommunicator. Tests about expiry use the same stack built
with an injected clock (`Consumer.as_asgi(clock=…)`), so a token expires when the test says,
not when the wall clock happens to get there; tests about the timer set a short
WS_RIGHTS_RECHECK_SECONDS and wait for the close with a generous timeout.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.security.websocket import OriginValidator
from channels.testing import WebsocketCommunicator
from django.urls import path

from accounts.services import tokens_for_user
from chats.models import Chat
from config.asgi import application
from games.models import GameSession
from projects.models import Collaborator, Project
from realtime.consumers.game import GameConsumer, game_socket_right
from realtime.consumers.movie import MovieConsumer, movie_socket_right
from realtime.consumers.rights import (
    ACCOUNT_GONE,
    PASSWORD_CHANGED,
    SPREAD,
    recheck_delay,
    recheck_seconds,
)
from realtime.middleware import JWTScopeMiddleware
from tests.factories import GameSessionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

MOVIE = "/api/v1/websocket"
TIMEOUT = 10  # generous: every wait for something that must happen
SHORT_RECHECK = 0.05
PAST_EXPIRY = timedelta(days=1).total_seconds()  # far past any access token's lifetime


# --- the stack, with an injectable clock ------------------------------------------------------


class Clock:
    """Unix seconds that move only when the test moves them; counts its readings, so a test
    can tell that a socket's watch has been running."""

    def __init__(self):
        self.now = time.time()
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def stack_with(clock: Clock):
    """realtime.routing's application, its consumers given `clock`."""
    return OriginValidator(
        JWTScopeMiddleware(
            URLRouter(
                [
                    path("ws", GameConsumer.as_asgi(clock=clock)),
                    path("api/v1/websocket", MovieConsumer.as_asgi(clock=clock)),
                ]
            )
        ),
        ["*"],
    )


def bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def token_of(user) -> str:
    return await database_sync_to_async(lambda: tokens_for_user(user=user).access)()


@asynccontextmanager
async def opened(path_: str, token: str | None = None, app=application):
    communicator = WebsocketCommunicator(app, path_, headers=bearer(token) if token else [])
    try:
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        assert connected, "the socket was not accepted"
        yield communicator
    finally:
        await communicator.disconnect(timeout=TIMEOUT)


async def until_closed(ws) -> tuple[list[dict], dict]:
    """Every frame the socket gets until the server closes it, and the close message."""
    frames = []
    while True:
        output = await ws.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return frames, output
        frames.append(json.loads(output["text"]))


async def until(condition, what: str) -> None:
    """Poll `condition` until it holds, for at most TIMEOUT seconds."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
async def fresh_channel_layer():
    """Each test gets the channel layer a new server process would have."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if layer is not None:
        await layer.flush()  # the pub/sub layer closes its connections of this loop


# --- movie fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def project(owner):
    return Project.objects.create(owner=owner, title="Rooftop Heist", genre="Action")


def _session(owner, project, digit: str) -> str:
    return Chat.all_chats.create(
        kind="project_session",
        public_id="session-" + digit * 24,
        owner=owner,
        project=project,
        current_step="concept-development",
        status="active",
    ).public_id


@pytest.fixture
def session_id(owner, project) -> str:
    return _session(owner, project, "7")


@pytest.fixture
def second_session_id(owner, project) -> str:
    return _session(owner, project, "8")


@pytest.fixture
def member(project):
    user = UserFactory()
    Collaborator.objects.create(project=project, user=user, role="collaborator")
    return user


async def join(ws, session_id: str) -> None:
    await ws.send_json_to({"type": "join-session", "sessionId": session_id})
    frame = await ws.receive_json_from(timeout=TIMEOUT)
    assert frame["type"] == "session-joined", frame


def assert_closed(frames, close, *, code: int, error: str | None, fragment: str) -> None:
    """Closed with `code` and a reason containing `fragment`; a movie socket is first told
    why in one error frame (`error` its code), a game socket in the close reason only."""
    assert close["code"] == code, (frames, close)
    assert fragment in close.get("reason", "").lower(), close
    if error is None:
        assert frames == []
    else:
        assert len(frames) == 1, frames
        assert frames[0]["type"] == "error" and frames[0]["code"] == error, frames
        assert fragment in frames[0]["message"].lower()


@database_sync_to_async
def change_password(user) -> None:
    user.set_password("a-new-password-entirely")
    user.save()


@database_sync_to_async
def remove_member(project, user) -> None:
    Collaborator.objects.filter(project=project, user=user).delete()


# --- movie: expiry ----------------------------------------------------------------------------


async def test_movie_token_expiring_while_connected_closes_4401(settings, owner, session_id):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    clock = Clock()
    async with opened(MOVIE, await token_of(owner), stack_with(clock)) as ws:
        await join(ws, session_id)
        clock.advance(PAST_EXPIRY)
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4401, error="AUTH_REQUIRED", fragment="expired")


async def test_movie_join_after_expiry_closes_4401(owner, session_id):
    clock = Clock()
    async with opened(MOVIE, await token_of(owner), stack_with(clock)) as ws:
        clock.advance(PAST_EXPIRY)
        await ws.send_json_to({"type": "join-session", "sessionId": session_id})
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4401, error="AUTH_REQUIRED", fragment="expired")


async def test_movie_news_after_expiry_is_not_delivered(owner, member, session_id):
    """The timer has not come round (the default interval), yet a broadcast reaching a
    socket whose token has expired is not sent: the socket closes instead."""
    clock = Clock()
    async with (
        opened(MOVIE, await token_of(owner), stack_with(clock)) as expiring,
        opened(MOVIE, await token_of(member)) as other,
    ):
        await join(expiring, session_id)
        await join(other, session_id)
        clock.advance(PAST_EXPIRY)
        await other.send_json_to({"type": "typing", "sessionId": session_id, "isTyping": True})
        frames, close = await until_closed(expiring)
    assert_closed(frames, close, code=4401, error="AUTH_REQUIRED", fragment="expired")


# --- movie: password, account, membership -----------------------------------------------------


async def test_movie_password_change_closes_4401_on_the_timer(settings, owner, session_id):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    async with opened(MOVIE, await token_of(owner)) as ws:
        await join(ws, session_id)
        await change_password(owner)
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4401, error="AUTH_REQUIRED", fragment="password")


async def test_movie_join_after_a_password_change_closes_4401(owner, session_id):
    async with opened(MOVIE, await token_of(owner)) as ws:
        await change_password(owner)
        await ws.send_json_to({"type": "join-session", "sessionId": session_id})
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4401, error="AUTH_REQUIRED", fragment="password")


@pytest.mark.parametrize("how", ["deactivated", "deleted"])
async def test_movie_account_gone_closes_4401_on_the_timer(settings, member, session_id, how):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    async with opened(MOVIE, await token_of(member)) as ws:
        await join(ws, session_id)
        if how == "deleted":
            await database_sync_to_async(member.delete)()
        else:
            member.is_active = False
            await database_sync_to_async(member.save)()
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4401, error="AUTH_REQUIRED", fragment="account")


async def test_a_removed_collaborator_trying_join_session_is_closed_4403(
    project, member, session_id, second_session_id
):
    async with opened(MOVIE, await token_of(member)) as ws:
        await join(ws, session_id)
        await remove_member(project, member)
        await ws.send_json_to({"type": "join-session", "sessionId": second_session_id})
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4403, error="ACCESS_DENIED", fragment="no longer a member")


async def test_a_removed_collaborator_is_closed_4403_on_the_timer(
    settings, project, member, session_id
):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    async with opened(MOVIE, await token_of(member)) as ws:
        await join(ws, session_id)
        await remove_member(project, member)
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4403, error="ACCESS_DENIED", fragment="no longer a member")


async def test_a_socket_whose_right_stands_outlives_many_checks(settings, member, session_id):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    clock = Clock()
    async with opened(MOVIE, await token_of(member), stack_with(clock)) as ws:
        await join(ws, session_id)
        # The watch reads the clock before each wait: five readings, four checks passed.
        start = clock.readings
        await until(lambda: clock.readings >= start + 5, "the watch's checks")
        await join(ws, session_id)  # still open, still allowed


# --- game -------------------------------------------------------------------------------------


@pytest.fixture
def player(db):
    return UserFactory()


@pytest.fixture
def owned_sid(player) -> str:
    return str(GameSessionFactory(owner=player).pk)


async def test_game_token_expiring_while_connected_closes_4401(settings, player, owned_sid):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    clock = Clock()
    token = await token_of(player)
    async with opened(f"/ws?sessionId={owned_sid}&token={token}", app=stack_with(clock)) as ws:
        clock.advance(PAST_EXPIRY)
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4401, error=None, fragment="expired")


async def test_game_news_after_expiry_is_not_delivered(player, owned_sid):
    clock = Clock()
    token = await token_of(player)
    path_ = f"/ws?sessionId={owned_sid}&token={token}"
    async with opened(path_, app=stack_with(clock)) as expiring, opened(path_) as other:
        clock.advance(PAST_EXPIRY)
        await other.send_json_to({"action": "typing", "value": True})
        frames, close = await until_closed(expiring)
    assert_closed(frames, close, code=4401, error=None, fragment="expired")


async def test_game_password_change_closes_4401(settings, player, owned_sid):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    token = await token_of(player)
    async with opened(f"/ws?sessionId={owned_sid}&token={token}") as ws:
        await change_password(player)
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4401, error=None, fragment="password")


async def test_game_session_given_to_someone_else_closes_4403(settings, player, owned_sid):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    stranger = await database_sync_to_async(UserFactory)()
    token = await token_of(player)
    async with opened(f"/ws?sessionId={owned_sid}&token={token}") as ws:
        await database_sync_to_async(GameSession.objects.filter(pk=owned_sid).update)(
            owner=stranger
        )
        frames, close = await until_closed(ws)
    assert_closed(frames, close, code=4403, error=None, fragment="another user")


@pytest.mark.parametrize("required, code", [(False, 4403), (True, 4404)])
async def test_someone_elses_session_is_unknown_when_auth_is_required(
    settings, owned_sid, required, code
):
    """With GAME_REQUIRE_AUTH, REST answers another user's session with the 404 of an unknown
    id; the socket closes as for an unknown session too, so ids cannot be probed."""
    settings.GAME_REQUIRE_AUTH = required
    stranger = await database_sync_to_async(UserFactory)()
    async with opened(f"/ws?sessionId={owned_sid}", await token_of(stranger)) as ws:
        _, close = await until_closed(ws)
    assert close["code"] == code


async def test_anonymous_game_sockets_are_not_watched(settings):
    settings.WS_RIGHTS_RECHECK_SECONDS = SHORT_RECHECK
    sid = str((await database_sync_to_async(GameSessionFactory)()).pk)
    clock = Clock()
    app = stack_with(clock)
    async with opened(f"/ws?sessionId={sid}", app=app) as a, opened(f"/ws?sessionId={sid}") as b:
        clock.advance(PAST_EXPIRY)
        await b.send_json_to({"action": "typing", "value": True})
        frame = await a.receive_json_from(timeout=TIMEOUT)
        assert frame["message"] == "typing"
        await a.send_json_to({"action": "typing", "value": False})
        frame = await b.receive_json_from(timeout=TIMEOUT)
        assert frame["value"] is False
    assert clock.readings == 0  # no token: nothing to expire, no watch


# --- the check itself -------------------------------------------------------------------------


def test_the_interval_is_a_setting_never_longer_than_an_access_token_lives(settings):
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()
    assert 0 < settings.WS_RIGHTS_RECHECK_SECONDS <= lifetime
    settings.WS_RIGHTS_RECHECK_SECONDS = 30
    assert recheck_seconds() == 30
    settings.WS_RIGHTS_RECHECK_SECONDS = 10 * lifetime
    assert recheck_seconds() == lifetime
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(seconds=90)}
    assert recheck_seconds() == 90


def test_the_wait_is_spread_within_the_interval_and_ends_at_expiry():
    assert recheck_delay(interval=60, now=0, expires_at=1000, draw=lambda: 0.0) == 60
    assert recheck_delay(interval=60, now=0, expires_at=1000, draw=lambda: 1.0) == pytest.approx(
        60 * (1 - SPREAD)
    )
    assert recheck_delay(interval=60, now=0, expires_at=5, draw=lambda: 0.0) == 5
    assert recheck_delay(interval=60, now=10, expires_at=5, draw=lambda: 0.0) == 0


def test_the_movie_check_is_one_query(
    django_assert_num_queries, project, member, session_id, second_session_id
):
    token = tokens_for_user(user=member).access
    claims = _claims(token)
    joined = [session_id, second_session_id]
    with django_assert_num_queries(1):
        assert (
            movie_socket_right(user=member, token=token, claims=claims, session_ids=joined) is None
        )
    Collaborator.objects.filter(project=project, user=member).delete()
    with django_assert_num_queries(1):
        gone = movie_socket_right(user=member, token=token, claims=claims, session_ids=joined)
    assert gone.code == 4403
    member.set_password("changed")
    member.save()
    assert movie_socket_right(user=member, token=token, claims=claims, session_ids=[]) == (
        PASSWORD_CHANGED
    )


def test_the_game_check_is_one_query(django_assert_num_queries, player, owned_sid):
    token = tokens_for_user(user=player).access
    claims = _claims(token)
    with django_assert_num_queries(1):
        assert (
            game_socket_right(user=player, token=token, claims=claims, session_id=owned_sid) is None
        )
    GameSession.objects.filter(pk=owned_sid).delete()
    assert game_socket_right(
        user=player, token=token, claims=claims, session_id=owned_sid
    ).code == (4404)
    player.is_active = False
    player.save()
    assert (
        game_socket_right(user=player, token=token, claims=claims, session_id=owned_sid)
        == ACCOUNT_GONE
    )


def _claims(token: str) -> dict:
    from config.api.authentication import BearerJWTAuthentication

    return dict(BearerJWTAuthentication().get_validated_token(token).payload)

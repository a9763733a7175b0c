"""Family G REST views: sessions, games and titles, progress, messages, history.

Views translate: parse with an Input serializer, call one service or selector, render with
an Output serializer. Errors are raised, and GameApiView renders them as `{"error": ...}`.
Every selector and service is given the caller; who may see or change what is decided in
`games.access`, never here.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from accounts.ownership import actor_or_none
from config.api.base import GameApiView
from config.api.params import body_input, path_int_id, query_input
from config.api.schema import GAME_ERRORS, GAME_ERRORS_WITH_CONFLICT
from games import selectors, services
from games.serializers import (
    OK,
    CheckpointInput,
    CheckpointOutput,
    GameOutput,
    GameTitleInput,
    GameTitleListQuery,
    GameTitleOutput,
    GameUpdateInput,
    HistoryOutput,
    IdOutput,
    MessageCreateInput,
    MessageListQuery,
    MessageOutput,
    OkOutput,
    ProgressOutput,
    ProgressUpdateInput,
    SessionEndInput,
    SessionOutput,
    SessionStartInput,
    SessionStartOutput,
)

# --- Sessions --------------------------------------------------------------------------------


class SessionStartApi(GameApiView):
    @extend_schema(
        tags=["game: sessions"],
        request=SessionStartInput,
        responses={201: SessionStartOutput, **GAME_ERRORS},
        summary="Start a session (the game is created on first reference)",
    )
    def post(self, request):
        data = body_input(SessionStartInput, request)
        session = services.session_start(
            game_id=data["gameId"],
            user_ref=data.get("userId"),
            character_id=data["characterId"],
            actor=actor_or_none(request.user),
        )
        return Response(SessionStartOutput(session).data, status=201)


class SessionEndApi(GameApiView):
    @extend_schema(
        tags=["game: sessions"],
        request=SessionEndInput,
        responses={200: OkOutput, **GAME_ERRORS},
        summary="End a session (idempotent)",
    )
    def post(self, request):
        data = body_input(SessionEndInput, request)
        services.session_end(session_id=data["sessionId"], actor=actor_or_none(request.user))
        return Response(OkOutput(OK).data)


class SessionDetailApi(GameApiView):
    @extend_schema(
        tags=["game: sessions"],
        responses={200: SessionOutput, **GAME_ERRORS},
        summary="Get a session",
    )
    def get(self, request, session_id: str):
        session = selectors.session_get_for(
            session_id=session_id, actor=actor_or_none(request.user)
        )
        return Response(SessionOutput(session).data)


# --- Games and titles ------------------------------------------------------------------------


class GameDetailApi(GameApiView):
    @extend_schema(tags=["game: games"], responses={200: GameOutput, **GAME_ERRORS})
    def get(self, request, game_id: str):
        game = selectors.game_get(game_id=path_int_id(game_id, "Game"))
        return Response(GameOutput(game).data)

    @extend_schema(
        tags=["game: games"], request=GameUpdateInput, responses={200: GameOutput, **GAME_ERRORS}
    )
    def patch(self, request, game_id: str):
        actor = actor_or_none(request.user)
        game = selectors.game_get_writable(game_id=path_int_id(game_id, "Game"), actor=actor)
        data = body_input(GameUpdateInput, request)
        game = services.game_update(game_id=game.pk, data=data, actor=actor)
        return Response(GameOutput(game).data)


class GameTitleListApi(GameApiView):
    @extend_schema(
        tags=["game: titles"],
        parameters=[GameTitleListQuery],
        responses={200: GameTitleOutput(many=True), **GAME_ERRORS},
        summary="List the catalogue, newest first; theme matches genre, title or description",
    )
    def get(self, request):
        query = query_input(GameTitleListQuery, request)
        titles = selectors.game_title_list(theme=query.get("theme"), limit=query["limit"])
        return Response(GameTitleOutput(titles, many=True).data)

    @extend_schema(
        tags=["game: titles"],
        request=GameTitleInput,
        responses={201: GameTitleOutput, **GAME_ERRORS},
    )
    def post(self, request):
        data = body_input(GameTitleInput, request)
        title = services.game_title_create(data=data, actor=actor_or_none(request.user))
        return Response(GameTitleOutput(title).data, status=201)


class GameTitleDetailApi(GameApiView):
    @extend_schema(tags=["game: titles"], responses={200: GameTitleOutput, **GAME_ERRORS})
    def get(self, request, title_id: str):
        title = selectors.game_title_get(title_id=path_int_id(title_id, "Game title"))
        return Response(GameTitleOutput(title).data)

    @extend_schema(
        tags=["game: titles"],
        request=GameTitleInput(partial=True),
        responses={200: GameTitleOutput, **GAME_ERRORS},
    )
    def patch(self, request, title_id: str):
        actor = actor_or_none(request.user)
        title = selectors.game_title_get_writable(
            title_id=path_int_id(title_id, "Game title"), actor=actor
        )
        data = body_input(GameTitleInput, request, partial=True)
        title = services.game_title_update(title=title, data=data, actor=actor)
        return Response(GameTitleOutput(title).data)

    @extend_schema(tags=["game: titles"], responses={200: OkOutput, **GAME_ERRORS})
    def delete(self, request, title_id: str):
        actor = actor_or_none(request.user)
        title = selectors.game_title_get_writable(
            title_id=path_int_id(title_id, "Game title"), actor=actor
        )
        services.game_title_delete(title=title, actor=actor)
        return Response(OkOutput(OK).data)


class GameTitleOfGameApi(GameApiView):
    @extend_schema(tags=["game: titles"], responses={200: GameTitleOutput, **GAME_ERRORS})
    def get(self, request, game_id: str):
        title = selectors.game_title_of_game(game_id=path_int_id(game_id, "Game"))
        return Response(GameTitleOutput(title).data)

    @extend_schema(
        tags=["game: titles"],
        request=GameTitleInput,
        responses={201: GameTitleOutput, **GAME_ERRORS_WITH_CONFLICT},
        summary="Create the game's title (409 if it has one already)",
    )
    def post(self, request, game_id: str):
        game_pk = path_int_id(game_id, "Game")
        data = body_input(GameTitleInput, request)
        title = services.game_title_attach(
            game_id=game_pk, data=data, actor=actor_or_none(request.user)
        )
        return Response(GameTitleOutput(title).data, status=201)

    @extend_schema(
        tags=["game: titles"],
        request=GameTitleInput(partial=True),
        responses={200: GameTitleOutput, **GAME_ERRORS},
    )
    def patch(self, request, game_id: str):
        actor = actor_or_none(request.user)
        title = selectors.game_title_of_game_writable(
            game_id=path_int_id(game_id, "Game"), actor=actor
        )
        data = body_input(GameTitleInput, request, partial=True)
        title = services.game_title_update(title=title, data=data, actor=actor)
        return Response(GameTitleOutput(title).data)

    @extend_schema(
        tags=["game: titles"],
        responses={200: OkOutput, **GAME_ERRORS},
        summary="Remove the game's title (deleted unless another game shares it)",
    )
    def delete(self, request, game_id: str):
        services.game_title_detach(
            game_id=path_int_id(game_id, "Game"), actor=actor_or_none(request.user)
        )
        return Response(OkOutput(OK).data)


# --- Progress --------------------------------------------------------------------------------


class ProgressApi(GameApiView):
    @extend_schema(tags=["game: progress"], responses={200: ProgressOutput, **GAME_ERRORS})
    def get(self, request, session_id: str):
        progress = selectors.progress_get(session_id=session_id, actor=actor_or_none(request.user))
        return Response(ProgressOutput(progress).data)

    @extend_schema(
        tags=["game: progress"],
        request=ProgressUpdateInput,
        responses={200: ProgressOutput, **GAME_ERRORS},
        summary="Update chapter, step, last message; checkpoints are upserted by key",
    )
    def patch(self, request, session_id: str):
        actor = actor_or_none(request.user)
        selectors.session_get_for(session_id=session_id, actor=actor)
        data = body_input(ProgressUpdateInput, request)
        progress = services.progress_update(session_id=session_id, data=data, actor=actor)
        return Response(ProgressOutput(progress).data)


class CheckpointCreateApi(GameApiView):
    @extend_schema(
        tags=["game: progress"],
        request=CheckpointInput,
        responses={201: CheckpointOutput, **GAME_ERRORS},
        summary="Add a checkpoint (a later one with the same key replaces it)",
    )
    def post(self, request, session_id: str):
        actor = actor_or_none(request.user)
        selectors.session_get_for(session_id=session_id, actor=actor)
        data = body_input(CheckpointInput, request)
        checkpoint = services.checkpoint_add(
            session_id=session_id, key=data["key"], value=data.get("value"), actor=actor
        )
        return Response(CheckpointOutput(checkpoint).data, status=201)


# --- Messages and history --------------------------------------------------------------------


class MessageListCreateApi(GameApiView):
    @extend_schema(
        tags=["game: messages"],
        parameters=[MessageListQuery],
        responses={200: MessageOutput(many=True), **GAME_ERRORS},
        summary="A session's messages in id order, after afterId when given",
    )
    def get(self, request):
        query = query_input(MessageListQuery, request)
        messages = selectors.message_list(
            session_id=query["sessionId"],
            after_id=query.get("afterId"),
            actor=actor_or_none(request.user),
        )
        return Response(MessageOutput(messages, many=True).data)

    @extend_schema(
        tags=["game: messages"],
        request=MessageCreateInput,
        responses={201: IdOutput, **GAME_ERRORS_WITH_CONFLICT},
        summary="Append a message to a session's log (409 once the session has ended)",
    )
    def post(self, request):
        data = body_input(MessageCreateInput, request)
        message = services.message_create(
            session_id=data["sessionId"],
            role=data["role"],
            content=data["content"],
            type=data.get("type", ""),
            actor=actor_or_none(request.user),
        )
        return Response(IdOutput(message).data, status=201)


class HistoryApi(GameApiView):
    @extend_schema(
        tags=["game: messages"],
        responses={200: HistoryOutput, **GAME_ERRORS},
        parameters=[OpenApiParameter("game_id", int, OpenApiParameter.PATH)],
        summary="Every message of every session of a game, by sequence_number",
        description=(
            "With GAME_REQUIRE_AUTH on, only the messages of the caller's own sessions (and "
            "of sessions without an owner); empty when the caller has none in the game."
        ),
    )
    def get(self, request, game_id: str):
        messages = selectors.history_list(
            game_id=path_int_id(game_id, "Game"), actor=actor_or_none(request.user)
        )
        return Response(HistoryOutput(messages).data)

"""Character routes: family G's sheet (seed 001 section 3) and family C's persona with its
cached opening line (seed 002). Both families share `/api/characters` and G's error body.

`CharacterDetailApi` serves G's GET/PATCH/DELETE and C's PUT on one path. It is async because
PUT may wait on the model; the other handlers run their database work in Django's sync
thread, exactly as a sync view would.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.ownership import actor_or_none
from characters import selectors, services
from characters.serializers import (
    CharacterCreatedOutput,
    CharacterCreateInput,
    CharacterOutput,
    CharacterPersonaInput,
    CharacterPersonaOutput,
    CharacterPersonaUpdateInput,
    CharacterUpdateInput,
)
from config.api.base import AsyncGameApiView, GameApiView
from config.api.fields import UserRefField
from config.api.params import body_input, path_int_id
from config.api.schema import GAME_ERRORS, GameError
from config.api.throttles import caller_ident
from games.serializers import OkOutput

CREATE_ERRORS = {
    **GAME_ERRORS,
    502: OpenApiResponse(GameError, description="The model gave no usable line; nothing saved"),
    503: OpenApiResponse(GameError, description="The model is unreachable; nothing saved"),
}
UPDATE_ERRORS = {
    **CREATE_ERRORS,
    409: OpenApiResponse(GameError, description="Changed by someone else meanwhile; retry"),
}
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[503],
    description="Seconds to wait before retrying",
)
REGENERATED = OpenApiParameter(
    "X-Opening-Line-Regenerated",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    enum=["true", "false"],
    description="Whether this update generated a new opening line",
)


class CharacterCreateApi(AsyncGameApiView):
    @extend_schema(
        tags=["character chat: characters"],
        request=CharacterPersonaInput,
        responses={201: CharacterPersonaOutput, **CREATE_ERRORS},
        parameters=[RETRY_AFTER],
        summary="Create a character with a generated, cached opening line",
        description=(
            "The opening line is generated before anything is saved: if the model fails, "
            "nothing is saved (503 with Retry-After, or 502). A client `opening_line` is "
            "ignored. Without `gameId` the character is a persona of the character chat."
        ),
    )
    async def post(self, request):
        data = await sync_to_async(body_input)(CharacterPersonaInput, request)
        character = await services.character_create(
            data=data, actor=actor_or_none(request.user), caller=caller_ident(request)
        )
        return Response(CharacterPersonaOutput(character).data, status=201)


class CharacterDetailApi(AsyncGameApiView):
    @extend_schema(tags=["game: characters"], responses={200: CharacterOutput, **GAME_ERRORS})
    def get(self, request, character_id: str):
        character = selectors.character_get(
            character_id=path_int_id(character_id, "Character"), actor=actor_or_none(request.user)
        )
        return Response(CharacterOutput(character).data)

    @extend_schema(
        tags=["game: characters"],
        request=CharacterUpdateInput,
        responses={200: CharacterOutput, **GAME_ERRORS},
        summary="Update a character; stats merge by key, health is a number or {current, max}",
    )
    def patch(self, request, character_id: str):
        pk = path_int_id(character_id, "Character")
        data = body_input(CharacterUpdateInput, request, partial=True)
        character = services.character_update(
            character_id=pk, data=data, actor=actor_or_none(request.user)
        )
        return Response(CharacterOutput(character).data)

    @extend_schema(tags=["game: characters"], responses={200: OkOutput, **GAME_ERRORS})
    def delete(self, request, character_id: str):
        pk = path_int_id(character_id, "Character")
        services.character_delete(character_id=pk, actor=actor_or_none(request.user))
        return Response({"ok": True})

    @extend_schema(
        tags=["character chat: characters"],
        request=CharacterPersonaUpdateInput,
        responses={200: CharacterPersonaOutput, **UPDATE_ERRORS},
        parameters=[REGENERATED, RETRY_AFTER],
        summary="Update the fields sent; regenerate the opening line on a material change",
        description=(
            "A partial update: only the fields sent change. The opening line is regenerated "
            "when the description or the name changed materially (letters and digits, "
            "compared casefolded; case, whitespace and punctuation edits do not count) or "
            "when the character has none; `X-Opening-Line-Regenerated` says which. A failed "
            "generation saves nothing (503 with Retry-After, or 502)."
        ),
    )
    async def put(self, request, character_id: str):
        pk = path_int_id(character_id, "Character")
        data = await sync_to_async(body_input)(CharacterPersonaUpdateInput, request)
        result = await services.character_update_persona(
            character_id=pk,
            data=data,
            actor=actor_or_none(request.user),
            caller=caller_ident(request),
        )
        return Response(
            CharacterPersonaOutput(result.character).data,
            headers={
                "X-Opening-Line-Regenerated": "true" if result.opening_line_regenerated else "false"
            },
        )


class CharacterOfGameApi(GameApiView):
    @extend_schema(
        tags=["game: characters"],
        request=CharacterUpdateInput,
        parameters=[
            OpenApiParameter(
                "userId", str, description="Pick this player's character (without a token)"
            )
        ],
        responses={200: CharacterOutput, **GAME_ERRORS},
        summary="Update the game's representative character",
        description=(
            "The caller's character in the game (by token, else by `userId` in the query or "
            "body) when there is one, else the game's oldest character; 404 if it has none."
        ),
    )
    def patch(self, request, game_id: str):
        game_pk = path_int_id(game_id, "Game")
        data = body_input(CharacterUpdateInput, request, partial=True)
        actor = actor_or_none(request.user)
        raw_user = request.query_params.get("userId", request.data.get("userId"))
        user_ref = None
        if raw_user is not None:
            try:
                user_ref = UserRefField().run_validation(raw_user)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"userId": exc.detail}) from None
        character = selectors.character_representative(
            game_id=game_pk, actor=actor, user_ref=user_ref
        )
        character = services.character_update(character_id=character.pk, data=data, actor=actor)
        return Response(CharacterOutput(character).data)


class GameCharacterListApi(GameApiView):
    @extend_schema(
        tags=["game: characters"],
        responses={200: CharacterOutput(many=True), **GAME_ERRORS},
        summary="A game's characters, oldest first",
    )
    def get(self, request, game_id: str):
        characters = selectors.character_list_for_game(
            game_id=path_int_id(game_id, "Game"), actor=actor_or_none(request.user)
        )
        return Response(CharacterOutput(characters, many=True).data)

    @extend_schema(
        tags=["game: characters"],
        request=CharacterCreateInput,
        responses={201: CharacterCreatedOutput, **GAME_ERRORS},
        summary="Create a character; health is computed from stats and level when absent",
    )
    def post(self, request, game_id: str):
        game_pk = path_int_id(game_id, "Game")
        data = body_input(CharacterCreateInput, request)
        character = services.character_create_in_game(
            game_id=game_pk, data=data, actor=actor_or_none(request.user)
        )
        return Response(CharacterCreatedOutput(character).data, status=201)

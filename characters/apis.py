"""Character routes in family G's shape (seed 001 section 3).

C's `POST /api/characters` and `PUT /api/characters/{id}` join these views with the
character-chat issue.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.ownership import actor_or_none
from characters import selectors, services
from characters.serializers import (
    CharacterCreatedOutput,
    CharacterCreateInput,
    CharacterOutput,
    CharacterUpdateInput,
)
from config.api.base import GameApiView
from config.api.fields import UserRefField
from config.api.params import body_input, path_int_id
from config.api.schema import GAME_ERRORS
from games.serializers import OkOutput


class CharacterDetailApi(GameApiView):
    @extend_schema(tags=["game: characters"], responses={200: CharacterOutput, **GAME_ERRORS})
    def get(self, request, character_id: str):
        character = selectors.character_get(character_id=path_int_id(character_id, "Character"))
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
            game_id=game_pk, owner_id=actor.pk if actor else None, user_ref=user_ref
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
        characters = selectors.character_list_for_game(game_id=path_int_id(game_id, "Game"))
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
        return Response(
            {
                "id": character.pk,
                "health": character.health["current"],
                "maxHealth": character.health["max"],
            },
            status=201,
        )

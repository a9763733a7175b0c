"""Character routes: family G's sheet (seed 001 section 3) and family C's persona with its
cached opening line (seed 002). Both families share `/api/characters` and G's error body.

`CharacterDetailApi` serves G's GET/PATCH/DELETE and C's PUT on one path. It is async because
PUT may wait on the model; the other handlers run their database work in Django's sync
thread, exactly as a sync view would.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts.ownership import actor_or_none
from characters import selectors, services
from characters.errors import CardError, CardTooLarge
from characters.serializers import (
    CharacterCardOutput,
    CharacterCreatedOutput,
    CharacterCreateInput,
    CharacterImportInput,
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


# --- Character cards (V1/V2/V3 in, V3 out) -----------------------------------------------------


class CardUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file upload handler, stopping a file part at `limit` bytes: past
    it the part is skipped (its temporary file dropped) and `too_large` says so."""

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.too_large = False

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)


IMPORT_ERRORS = {
    **GAME_ERRORS,
    400: OpenApiResponse(
        GameError, description="Not a card, or a card that does not follow the specifications"
    ),
    413: OpenApiResponse(
        GameError,
        description="A file over CHARACTER_CARD_MAX_BYTES, an image over "
        "CHARACTER_CARD_MAX_PIXELS, too many chunks, or a text chunk that inflates too far",
    ),
    415: OpenApiResponse(GameError, description="The body is not multipart/form-data"),
}
CARD_FORMAT = OpenApiParameter(
    "format",
    str,
    OpenApiParameter.QUERY,
    enum=["json", "png"],
    default="json",
    description="`json`: the V3 card; `png`: an image carrying a `chara` (V2) and a `ccv3` "
    "(V3) tEXt chunk",
)
CONTENT_DISPOSITION = OpenApiParameter(
    "Content-Disposition",
    str,
    OpenApiParameter.HEADER,
    response=[200],
    description="attachment, with a filename made of the character's name",
)


def _json_only(view, request):
    """JSON for every answer but the ones the view builds itself: DRF's `format` query
    parameter names the card's format here, not a renderer."""
    renderer = JSONRenderer()
    return renderer, renderer.media_type


def card_filename(name: str, character_id: int, extension: str) -> str:
    """A filename from the character's name: letters, digits, space, `-` and `_` only."""
    safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in name)
    safe = " ".join(safe.split()).strip("_")[:80] or f"character-{character_id}"
    return f"{safe}.{extension}"


class CharacterImportApi(GameApiView):
    parser_classes = [MultiPartParser]
    upload_max_files = 1  # config/body_limit.py: one file's worth of body

    @extend_schema(
        tags=["character chat: characters"],
        request={"multipart/form-data": CharacterImportInput},
        responses={201: CharacterPersonaOutput, **IMPORT_ERRORS},
        summary="Import a Character Card V1/V2/V3 (PNG/APNG or JSON)",
        description=(
            "Answers as `POST /api/characters`. `opening_line` is the card's `first_mes` (no "
            "model call); every other card field, `character_book` and `extensions` included, "
            "is kept for the export. A PNG's image, without its text chunks, becomes the "
            "avatar (`GET /api/characters/{id}/avatar`). A bad card is a 400 naming the "
            "field, and nothing is stored."
        ),
    )
    def post(self, request):
        handler = CardUploadHandler(request, limit=settings.CHARACTER_CARD_MAX_BYTES)
        request.upload_handlers = [handler]
        upload = request.FILES.get("file")
        if handler.too_large:
            raise CardTooLarge(
                f"file: over {settings.CHARACTER_CARD_MAX_BYTES} bytes, the largest character "
                "card taken"
            )
        if upload is None:
            raise CardError("file: is required (a PNG/APNG or JSON card, multipart field 'file')")
        with upload:
            content = upload.read()
        character = services.character_import(
            content=content,
            actor=actor_or_none(request.user),
            avatar_url=lambda pk: request.build_absolute_uri(
                reverse("character-avatar", args=[pk])
            ),
        )
        return Response(CharacterPersonaOutput(character).data, status=201)


class CharacterCardApi(GameApiView):
    perform_content_negotiation = _json_only

    @extend_schema(
        tags=["character chat: characters"],
        parameters=[CARD_FORMAT, CONTENT_DISPOSITION],
        responses={
            (200, "application/json"): CharacterCardOutput,
            (200, "image/png"): OpenApiTypes.BINARY,
            **GAME_ERRORS,
        },
        summary="Export a character as a Character Card V3 (JSON, or PNG with V2 and V3)",
        description=(
            "Visible as `GET /api/characters/{id}` (another user's private character is a "
            "404). The PNG is the imported image (a generated one when there is none) with a "
            "`chara` (V2) and a `ccv3` (V3) tEXt chunk of base64 JSON, as SillyTavern writes "
            "them. Importing the export gives the same card back."
        ),
    )
    def get(self, request, character_id: str):
        pk = path_int_id(character_id, "Character")
        kind = request.query_params.get("format", "json")
        if kind not in ("json", "png"):
            raise CardError("format: must be 'json' or 'png'")
        actor = actor_or_none(request.user)
        if kind == "json":
            card = selectors.character_card(character_id=pk, actor=actor)
            response = Response(card)
            name = card["data"]["name"]
        else:
            character, png = selectors.character_card_png(character_id=pk, actor=actor)
            response = HttpResponse(png, content_type="image/png")
            name = character.name
        response["Content-Disposition"] = content_disposition_header(
            True, card_filename(name, pk, kind)
        )
        return response


class CharacterAvatarApi(GameApiView):
    @extend_schema(
        tags=["character chat: characters"],
        responses={(200, "image/png"): OpenApiTypes.BINARY, **GAME_ERRORS},
        summary="The image of the card a character was imported from",
        description="Without its text chunks; 404 for a character not imported from a PNG.",
    )
    def get(self, request, character_id: str):
        image = selectors.character_avatar(
            character_id=path_int_id(character_id, "Character"),
            actor=actor_or_none(request.user),
        )
        return HttpResponse(image, content_type="image/png")

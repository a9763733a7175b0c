from django.urls import path

from characters import apis

urlpatterns = [
    path("characters", apis.CharacterCreateApi.as_view(), name="characters"),
    # Before characters/<id>: "import" is not an id.
    path("characters/import", apis.CharacterImportApi.as_view(), name="character-import"),
    path(
        "characters/<str:character_id>/card", apis.CharacterCardApi.as_view(), name="character-card"
    ),
    path(
        "characters/<str:character_id>/avatar",
        apis.CharacterAvatarApi.as_view(),
        name="character-avatar",
    ),
    path(
        "characters/game/<str:game_id>",
        apis.CharacterOfGameApi.as_view(),
        name="character-of-game",
    ),
    path(
        "characters/<str:character_id>", apis.CharacterDetailApi.as_view(), name="character-detail"
    ),
    path(
        "games/<str:game_id>/characters",
        apis.GameCharacterListApi.as_view(),
        name="game-characters",
    ),
]

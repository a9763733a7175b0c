from django.urls import path

from characters import apis

urlpatterns = [
    path("characters", apis.CharacterCreateApi.as_view(), name="characters"),
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

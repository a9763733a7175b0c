"""Login and token refresh, answered in the movie platform's (M) shape: the M renderer adds
`"success": true`, and the M tier limit counts them per client address besides the login
throttle."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts import services
from accounts.serializers import (
    LoginInput,
    LoginOutput,
    LogoutOutput,
    RefreshInput,
    RefreshOutput,
    UserOutput,
)
from config.api.base import MovieApiView
from config.api.schema import MOVIE_ERRORS
from config.api.throttles import LoginRateThrottle


class PublicAuthApi(MovieApiView):
    """The token routes: no token needed, counted by the login throttle besides M's limit."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [*MovieApiView.throttle_classes, LoginRateThrottle]


class LoginApi(PublicAuthApi):
    @extend_schema(
        tags=["auth"],
        request=LoginInput,
        responses={200: LoginOutput, **MOVIE_ERRORS},
        summary="Log in with e-mail and password; returns a JWT access and refresh token",
    )
    def post(self, request):
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.user_login(**data.validated_data, request=request)
        return Response(
            {"token": pair.access, "refreshToken": pair.refresh, "user": UserOutput(user).data}
        )


class RefreshApi(PublicAuthApi):
    @extend_schema(
        tags=["auth"],
        request=RefreshInput,
        responses={200: RefreshOutput, **MOVIE_ERRORS},
        summary="Exchange a refresh token for a new pair (the used refresh token stops working)",
    )
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.token_refresh(**data.validated_data)
        return Response({"token": pair.access, "refreshToken": pair.refresh})


class LogoutApi(PublicAuthApi):
    @extend_schema(
        tags=["auth"],
        request=RefreshInput,
        responses={200: LogoutOutput, **MOVIE_ERRORS},
        summary="Log out: the refresh token stops working (idempotent)",
    )
    def post(self, request):
        data = RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(**data.validated_data)
        return Response(LogoutOutput({"loggedOut": True}).data)

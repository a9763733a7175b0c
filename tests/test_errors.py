"""Error codes: every code has a status in every family, and a code cannot go unmapped."""

from __future__ import annotations

import json

import pytest
from rest_framework.renderers import JSONRenderer

from config.api.errors import (
    UnmappedErrorCode,
    make_exception_handler,
    normalise,
    status_for,
)
from config.families import FAMILIES
from core.errors import (
    AccessDenied,
    Busy,
    DomainError,
    ErrorCode,
    NotFoundError,
    ServiceUnavailable,
)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_has_a_status_in_every_family(code, family):
    status = status_for(code, family)
    assert 400 <= status <= 599


def test_a_code_with_no_status_is_a_programming_error_not_a_400():
    with pytest.raises(UnmappedErrorCode, match="NO_SUCH_CODE"):
        status_for("NO_SUCH_CODE", "G")
    with pytest.raises(UnmappedErrorCode, match="family"):
        status_for(ErrorCode.NOT_FOUND, "X")


def test_a_domain_error_class_must_name_an_error_code():
    with pytest.raises(TypeError, match="ErrorCode"):

        class BareString(DomainError):
            code = "NOT_FOUND"


def test_a_code_override_must_be_an_error_code():
    assert NotFoundError("gone", code=ErrorCode.CONFLICT).code is ErrorCode.CONFLICT
    with pytest.raises(TypeError, match="ErrorCode"):
        NotFoundError("gone", code="CONFLICT")


def test_family_a_answers_another_identitys_resource_with_401_where_g_and_m_say_403():
    error = AccessDenied("This chat belongs to someone else")
    assert normalise(error, "A").status == 401
    assert normalise(error, "G").status == 403
    assert normalise(error, "M").status == 403

    handler = make_exception_handler("A")
    response = handler(error, {})
    assert response.status_code == 401
    assert response.data == {
        "statusCode": 401,
        "statusMessage": "This chat belongs to someone else",
    }


@pytest.mark.parametrize("family", FAMILIES)
def test_busy_is_a_503_with_retry_after(family):
    error = Busy("Too many replies are being written; retry shortly", retry_after=3)
    assert isinstance(error, ServiceUnavailable)
    rendered = normalise(error, family)
    assert (rendered.status, rendered.code) == (503, "BUSY")
    assert rendered.headers == {"Retry-After": "3"}


def test_movie_body_carries_the_code_as_a_plain_string():
    response = make_exception_handler("M")(Busy("busy"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert json.loads(JSONRenderer().render(response.data))["error"]["code"] == "BUSY"

"""A model endpoint's own `Retry-After` on a 429 reaches the client of the G dialogue route,
capped at 60 s; without one (or an unreadable one) the default wait stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.factories import GameSessionFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEFAULT = "20"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, "7"),
        ({"Retry-After": "2.2"}, "3"),
        ({"Retry-After": "0"}, "1"),
        ({"Retry-After": "3600"}, "60"),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, "2"),
        ({"Retry-After": "soon"}, DEFAULT),
        ({"Retry-After": "nan"}, DEFAULT),
        ({}, DEFAULT),
    ],
)
def test_the_providers_retry_after_is_passed_on_capped(client, fake_openai, headers, expected):
    session = GameSessionFactory()
    fake_openai.fail(429, headers=headers)
    response = client.post(
        "/api/ai/dialogue",
        {"sessionId": str(session.pk), "history": [{"role": "user", "content": "Knock."}]},
    )
    assert response.status_code == 503, response.content
    assert set(response.json()) == {"error"}
    assert response["Retry-After"] == expected


def test_an_http_date_retry_after_counts_from_now(client, fake_openai):
    session = GameSessionFactory()
    when = datetime.now(UTC) + timedelta(seconds=50)
    fake_openai.fail(429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    response = client.post(
        "/api/ai/dialogue",
        {"sessionId": str(session.pk), "history": [{"role": "user", "content": "Knock."}]},
    )
    assert response.status_code == 503
    # The whole seconds left until `when`: at most 50, and more than the default wait (what a
    # date that was not read gives) unless the request took half a minute.
    assert int(DEFAULT) < int(response["Retry-After"]) <= 50

"""Database work that arrives together runs together (core/db_batch.py): one batch, one
transaction, a savepoint per unit; a unit that fails is rolled back alone and its caller gets
its exception; every caller gets its result only after the batch committed."""

from __future__ import annotations

import asyncio
import contextvars

import pytest
from asgiref.sync import async_to_sync
from django.db import connection, transaction

from core import db_batch
from core.metrics import REGISTRY
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="")


def _batches() -> tuple[float, float]:
    return (
        REGISTRY.get_sample_value("aistory_db_batch_units_count") or 0.0,
        REGISTRY.get_sample_value("aistory_db_batch_units_sum") or 0.0,
    )


def _together(*units):
    """Submit every unit from its own task on one loop, at once; their outcomes."""

    async def one(index, unit):
        who.set(f"caller-{index}")
        return await db_batch.run(unit)

    async def run():
        return await asyncio.gather(
            *(one(index, unit) for index, unit in enumerate(units)), return_exceptions=True
        )

    return async_to_sync(run)()


@pytest.mark.parametrize("reuse_threads", [False, True])
def test_units_submitted_together_run_in_one_transaction_in_their_callers_context(
    settings, reuse_threads
):
    """With reused threads the batch runs in a context (and on a thread) of its own; each
    unit still sees its caller's context."""
    from django.contrib.auth import get_user_model

    settings.ASGI_REUSE_THREADS = reuse_threads

    before = _batches()

    def make(name):
        def unit():
            assert not transaction.get_autocommit()  # inside the batch's transaction
            get_user_model().objects.create(email=f"{name}@example.com")
            return (who.get(), connection.in_atomic_block)

        return unit

    outcomes = _together(*(make(f"user-{i}") for i in range(5)))
    assert outcomes == [(f"caller-{i}", True) for i in range(5)]
    count, units = _batches()
    assert (count - before[0], units - before[1]) == (1, 5)
    assert get_user_model().objects.filter(email__startswith="user-").count() == 5


def test_a_unit_that_raises_is_rolled_back_alone():
    from django.contrib.auth import get_user_model

    users = get_user_model().objects

    def ok(name):
        return lambda: users.create(email=f"{name}@example.com").email

    def fails():
        users.create(email="half-written@example.com")
        raise ValueError("refused")

    outcomes = _together(ok("first"), fails, ok("third"))
    assert outcomes[0] == "first@example.com" and outcomes[2] == "third@example.com"
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "refused"
    assert set(users.values_list("email", flat=True)) == {"first@example.com", "third@example.com"}


def test_a_database_error_in_one_unit_spares_the_others():
    UserFactory(email="taken@example.com")
    from django.contrib.auth import get_user_model
    from django.db import IntegrityError

    users = get_user_model().objects
    outcomes = _together(
        lambda: users.create(email="taken@example.com"),
        lambda: users.create(email="free@example.com").email,
    )
    assert isinstance(outcomes[0], IntegrityError)
    assert outcomes[1] == "free@example.com"
    assert users.filter(email="free@example.com").exists()


def test_what_arrives_during_a_batch_goes_in_the_next():
    before = _batches()

    async def run():
        first = asyncio.ensure_future(db_batch.run(lambda: 1))
        await asyncio.sleep(0)  # the first batch has begun
        second = asyncio.ensure_future(db_batch.run(lambda: 2))
        third = asyncio.ensure_future(db_batch.run(lambda: 3))
        return await asyncio.gather(first, second, third)

    assert async_to_sync(run)() == [1, 2, 3]
    count, units = _batches()
    assert (count - before[0], units - before[1]) == (2, 3)


def test_a_unit_alone_runs_without_a_savepoint_and_its_failure_is_rolled_back(
    django_assert_num_queries,
):
    """A lone unit has the batch's transaction to itself: no SAVEPOINT or RELEASE (two round
    trips on PostgreSQL), and what it wrote before raising is gone."""
    from django.contrib.auth import get_user_model
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    users = get_user_model().objects

    def fails():
        users.create(email="half-written@example.com")
        raise ValueError("refused")

    def nested():
        with transaction.atomic(savepoint=False):  # as a turn's prepare step nests
            return users.create(email="kept@example.com").email

    with CaptureQueriesContext(conn) as queries:
        outcomes = [_together(fails)[0], _together(nested)[0]]
    assert isinstance(outcomes[0], ValueError) and str(outcomes[0]) == "refused"
    assert outcomes[1] == "kept@example.com"
    assert set(users.values_list("email", flat=True)) == {"kept@example.com"}
    statements = [query["sql"].upper() for query in queries.captured_queries]
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
    assert sum("INSERT" in sql for sql in statements) == 2


def test_a_failed_commit_is_the_lone_units_failure(monkeypatch):
    """The commit that fails after a lone unit ran is that unit's failure: its caller gets
    the error, not a result whose writes were lost."""
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError, connections

    def refuse_commit(self):
        raise DatabaseError("commit refused")

    monkeypatch.setattr(type(connections["default"]), "commit", refuse_commit)
    outcome = _together(lambda: get_user_model().objects.create(email="lost@example.com"))[0]
    monkeypatch.undo()
    assert isinstance(outcome, DatabaseError) and "commit refused" in str(outcome)
    assert not get_user_model().objects.filter(email="lost@example.com").exists()

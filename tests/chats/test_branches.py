"""The message tree's writers and readers (chats.branches, chats.selectors): query counts,
chats stored before the tree, a reply that finishes after its owner switched branches, and
migration 0004 (a reply keeps the state it led to)."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.db import transaction

from chats import branches, selectors, services
from chats.errors import ChatNotFound, ChatNotYours
from chats.identity import Identity
from chats.models import Chat, Message
from tests.factories import CharacterFactory, ChatFactory, ChatMessageFactory
from tests.helpers import json_body

pytestmark = pytest.mark.django_db


def regenerate(chat: Chat, reply: Message, text: str) -> Message:
    """What a regenerate turn writes: place it, then store the new version."""
    with transaction.atomic():
        place = branches.turn_regenerate(services.chat_locked(chat.pk), message_id=reply.client_id)
    return services.reply_store(chat.pk, services.new_client_id(), text, parent_pk=place.parent.pk)


def edit(chat: Chat, line: Message, text: str) -> Message:
    with transaction.atomic():
        place = branches.turn_submit(
            services.chat_locked(chat.pk), client_id=line.client_id, content=text, previous_id=None
        )
    return place.line


def conversation(chat: Chat, turns: int) -> list[Message]:
    rows = []
    for turn in range(turns):
        rows.append(services.message_save(chat, f"u-{turn}", "user", f"Line {turn}"))
        rows.append(services.reply_store(chat.pk, f"r-{turn}", f"Reply {turn}"))
    return rows


class TestQueryCount:
    def test_a_streamed_turns_user_line_is_four_queries(self, django_assert_num_queries):
        """What a stream start's prepare step writes, in its transaction: the chat's row read,
        checked and locked once (with its character), its messages, the line, the leaf."""
        chat = ChatFactory(character=CharacterFactory())
        conversation(chat, 2)
        with transaction.atomic():
            with django_assert_num_queries(4) as captured:
                locked = services.chat_locked(chat.pk, owner=Identity(anon_id=chat.anon_id))
                place = branches.turn_submit(
                    locked, client_id="u-new", content="Next", previous_id=None
                )
            assert locked.character.name  # read with the chat, no query of its own
        assert captured.captured_queries[0]["sql"].startswith("SELECT")
        assert [m["content"] for m in place.history][-1] == "Next"
        assert Chat.objects.get(pk=chat.pk).leaf_id == place.line.pk

    @pytest.mark.parametrize("versions", [1, 4])
    def test_a_chat_with_branches_is_three_queries(
        self, auth_client, user, django_assert_num_queries, versions
    ):
        chat = ChatFactory(owner=user)
        rows = conversation(chat, 3)
        for number in range(versions - 1):
            regenerate(chat, rows[1], f"Another first reply {number}")
            edit(chat, Message.objects.get(chat=chat, client_id="u-2"), f"Edited {number}")
        with django_assert_num_queries(3):  # the user, the chat, its messages
            body = json_body(auth_client.get(f"/api/chats/{chat.pk}"))
        messages = body["messages"]
        if versions == 1:
            assert [m["id"] for m in messages] == [m.client_id for m in rows]
            assert all("versions" not in m for m in messages)
        else:
            # The last edit is active: its branch runs through the first reply it followed.
            assert [m["content"] for m in messages] == [
                "Line 0",
                "Reply 0",
                "Line 1",
                "Reply 1",
                f"Edited {versions - 2}",
            ]
            assert messages[1]["versions"]["count"] == versions
            assert messages[1]["versions"]["index"] == 0
            assert messages[4]["versions"]["count"] == versions
            assert messages[4]["versions"]["index"] == versions - 1

    def test_reading_a_chat_leaves_the_replies_prompt_records_in_the_database(
        self, auth_client, user, django_assert_num_queries
    ):
        chat = ChatFactory(owner=user)
        conversation(chat, 2)
        Message.objects.filter(chat=chat, role="assistant").update(
            prompt={"messages": [{"role": "system", "content": "x" * 10_000}]}
        )
        with django_assert_num_queries(3) as captured:
            assert auth_client.get(f"/api/chats/{chat.pk}").status_code == 200
        messages_query = captured.captured_queries[-1]["sql"]
        assert "chats_message" in messages_query
        assert '"prompt"' not in messages_query


class TestChatLocked:
    def test_an_unknown_chat_is_not_found_and_another_identitys_is_not_yours(self):
        chat = ChatFactory()
        with transaction.atomic(), pytest.raises(ChatNotFound):
            services.chat_locked(Chat().pk)
        with transaction.atomic(), pytest.raises(ChatNotYours):
            services.chat_locked(chat.pk, owner=Identity(anon_id="anon-someone-else"))
        with transaction.atomic():
            assert services.chat_locked(chat.pk, owner=Identity(anon_id=chat.anon_id)) == chat


class TestChatsStoredBeforeTheTree:
    def test_read_in_stored_order_without_versions(self):
        chat = ChatFactory()
        rows = ChatMessageFactory.create_batch(3, chat=chat)
        selectors.chat_messages_prefetch(chat)
        assert chat.branch == rows
        assert all(message.versions is None for message in chat.branch)

    def test_a_new_message_links_them_first(self):
        chat = ChatFactory()
        rows = ChatMessageFactory.create_batch(3, chat=chat)
        added = services.message_save(chat, None, "user", "After them")
        chat.refresh_from_db()
        assert chat.leaf_id == added.pk
        parents = dict(Message.objects.filter(chat=chat).values_list("pk", "parent_id"))
        assert parents == {
            rows[0].pk: None,
            rows[1].pk: rows[0].pk,
            rows[2].pk: rows[1].pk,
            added.pk: rows[2].pk,
        }
        assert selectors.chat_history(chat)[-1] == {"role": "user", "content": "After them"}


class TestLeaf:
    def test_saving_an_id_again_updates_in_place(self):
        chat = ChatFactory()
        first = services.message_save(chat, "m-1", "user", "Hello")
        services.message_save(chat, "m-2", "user", "Again")
        again = services.message_save(chat, "m-1", "user", "Hello, edited")
        chat.refresh_from_db()
        assert again.pk == first.pk and again.parent_id is None
        assert chat.leaf.client_id == "m-2"

    def test_a_reply_after_a_switch_does_not_take_the_branch_back(self):
        chat = ChatFactory()
        rows = conversation(chat, 2)
        branches.message_activate(chat, message_id="r-0")  # the owner looks elsewhere
        services.message_save(chat, "u-x", "user", "Another way")
        late = services.reply_store(chat.pk, "r-late", "Late", parent_pk=rows[2].pk)
        chat.refresh_from_db()
        assert late.parent_id == rows[2].pk
        assert chat.leaf.client_id == "u-x"

    def test_activate_follows_the_newest_child(self):
        chat = ChatFactory()
        rows = conversation(chat, 2)
        newer = regenerate(chat, rows[3], "A newer last reply")
        regenerate(chat, rows[1], "Another first reply")
        branches.message_activate(chat, message_id="r-0")
        chat.refresh_from_db()
        assert chat.leaf_id == newer.pk


def test_migration_0004_moves_each_replys_state_to_the_state_it_led_to():
    migration = import_module("chats.migrations.0004_reply_state_after")
    chat = ChatFactory(character=CharacterFactory(), state={"情绪": "tense"})
    greeting = Message.objects.create(chat=chat, client_id="g", role="assistant", content="Hi")
    line1 = Message.objects.create(chat=chat, client_id="u1", role="user", parent=greeting)
    reply1 = Message.objects.create(chat=chat, client_id="r1", role="assistant", parent=line1)
    line2 = Message.objects.create(chat=chat, client_id="u2", role="user", parent=reply1)
    reply2 = Message.objects.create(
        chat=chat, client_id="r2", role="assistant", parent=line2, state_snapshot={"情绪": "calm"}
    )
    Chat.objects.filter(pk=chat.pk).update(leaf=reply2)

    migration.state_after(apps, None)

    snapshots = dict(Message.objects.filter(chat=chat).values_list("client_id", "state_snapshot"))
    assert snapshots == {
        "g": None,
        "u1": None,
        "r1": {"情绪": "calm"},
        "u2": None,
        "r2": {"情绪": "tense"},
    }

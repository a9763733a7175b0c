"""A character chat's reply now keeps the state it LED to (after the state extraction), so
that each branch of the message tree has its own state. Replies stored before kept the state
BEFORE their turn; this moves each one's state to the reply before it, gives the last reply
the chat's current state, and gives a chat with no reply its state on its leaf."""

from itertools import pairwise

from django.db import migrations


def state_after(apps, schema_editor):
    Chat = apps.get_model("chats", "Chat")
    Message = apps.get_model("chats", "Message")
    chats = (
        Chat._default_manager.filter(kind="conversation", character__isnull=False)
        .values_list("pk", "state", "leaf_id")
        .iterator()
    )
    for chat_id, state, leaf_id in chats:
        replies = list(
            Message.objects.filter(chat_id=chat_id, role="assistant", parent__role="user")
            .order_by("created_at", "pk")
            .values_list("pk", "state_snapshot")
        )
        for (pk, _), (_, before_next) in pairwise(replies):
            Message.objects.filter(pk=pk).update(state_snapshot=before_next or {})
        if replies:
            Message.objects.filter(pk=replies[-1][0]).update(state_snapshot=state or {})
        elif state and leaf_id is not None:
            Message.objects.filter(pk=leaf_id).update(state_snapshot=state)


class Migration(migrations.Migration):
    dependencies = [
        ("chats", "0003_message_tree"),
    ]

    operations = [
        migrations.RunPython(state_after, migrations.RunPython.noop),
    ]

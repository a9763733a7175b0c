"""C's prompt (chats/prompts.py): a card's fields as SillyTavern uses them, the lorebook
injected by position and order, and the record of what was sent; A's prompt unchanged."""

from __future__ import annotations

from ai.engine import SentPrompt, build_prompt, estimate_tokens
from characters.models import Character
from chats.prompts import (
    ASSISTANT_PROMPT,
    CHARACTER_PROMPT,
    character_system_prompt,
    chat_prompt,
    prompt_record,
)

STATE = {"mood": "calm", "room": "the lamp room"}
HISTORY = [
    {"role": "assistant", "content": "Welcome to the lighthouse."},
    {"role": "user", "content": "Who keeps the lamp?"},
]


def character(**fields) -> Character:
    defaults = {"name": "Mira", "description": "A calm  keeper\nof lights", "tags": ["quiet"]}
    return Character(**{**defaults, **fields})


def lore_entry(content: str, **fields) -> dict:
    return {"keys": ["lamp"], "content": content, "extensions": {}, "enabled": True,
            "insertion_order": 0, **fields}  # fmt: skip


def test_an_assistant_chat_keeps_its_prompt():
    prompt = chat_prompt(None, {}, HISTORY)
    assert (prompt.system_prompt, prompt.post_history, prompt.lorebook) == (
        ASSISTANT_PROMPT,
        None,
        (),
    )
    assert character_system_prompt(None, {}) == ASSISTANT_PROMPT


def test_a_character_without_card_fields_keeps_the_prompt_it_always_had():
    expected = "\n".join(
        [
            CHARACTER_PROMPT.format(name="Mira"),
            "Character: Mira",
            "Description: A calm keeper of lights",
            "Tags: quiet",
            "State: mood: calm; room: the lamp room",
        ]
    )
    assert chat_prompt(character(), STATE, HISTORY).system_prompt == expected
    assert character_system_prompt(character(), STATE) == expected


def test_card_fields_go_where_sillytavern_puts_them():
    card = {
        "system_prompt": "{{original}} Speak softly, {{char}}.",
        "personality": "patient,\n  watchful",
        "scenario": "{{user}} climbs the stairs.",
        "mes_example": "<START>\n{{user}}: Hello?\n{{char}}: Mind the steps.",
        "post_history_instructions": "Stay brief. {{original}}",
        "nickname": "Miri",
        "creator_notes": "Never in the prompt.",
        "creator": "Never either.",
    }
    prompt = chat_prompt(character(card=card), STATE, HISTORY)
    assert prompt.system_prompt.split("\n") == [
        CHARACTER_PROMPT.format(name="Mira") + " Speak softly, Miri.",
        "Character: Mira",
        "Description: A calm keeper of lights",
        "Personality: patient, watchful",
        "Scenario: User climbs the stairs.",
        "Tags: quiet",
        "Example dialogue:",
        "<START>",
        "User: Hello?",
        "Miri: Mind the steps.",
        "State: mood: calm; room: the lamp room",
    ]
    assert prompt.post_history == "Stay brief."


def test_an_empty_card_system_prompt_keeps_the_default():
    prompt = chat_prompt(character(card={"system_prompt": "  "}), {}, [])
    assert prompt.system_prompt.startswith(CHARACTER_PROMPT.format(name="Mira") + "\n")
    assert prompt.post_history is None


def test_lorebook_entries_go_before_and_after_the_definition_in_insertion_order():
    book = {
        "extensions": {},
        "entries": [
            lore_entry("After, second.", insertion_order=2),
            lore_entry("Before, only.", position="before_char"),
            lore_entry("After, first.", insertion_order=1, position="after_char"),
            lore_entry("Disabled.", enabled=False, position="before_char"),
            lore_entry("Unmatched.", keys=["harbour"]),
        ],
    }
    prompt = chat_prompt(character(character_book=book), {}, HISTORY)
    lines = prompt.system_prompt.split("\n")
    assert lines == [
        CHARACTER_PROMPT.format(name="Mira"),
        "Before, only.",
        "Character: Mira",
        "Description: A calm keeper of lights",
        "Tags: quiet",
        "After, first.",
        "After, second.",
    ]
    assert [hit.key for hit in prompt.lorebook] == ["lamp", "lamp", "lamp"]


def test_the_lorebook_scans_the_history_it_is_given():
    book = {"extensions": {}, "entries": [lore_entry("Lamp lore.")]}
    assert chat_prompt(character(character_book=book), {}, []).lorebook == ()


def test_the_record_holds_what_was_sent_and_tokens_per_part():
    book = {"extensions": {}, "entries": [lore_entry("Lamp lore.")]}
    prompt = chat_prompt(
        character(character_book=book, card={"post_history_instructions": "Be brief."}),
        {},
        HISTORY,
    )
    budget = estimate_tokens(prompt.system_prompt) + estimate_tokens("Be brief.") + 13
    messages = build_prompt(
        system_prompt=prompt.system_prompt,
        history=HISTORY,
        budget=budget,
        post_history=prompt.post_history,
    )
    record = prompt_record(SentPrompt(messages, "model-x", "offline"), prompt)
    assert record["messages"] == [
        {"role": "system", "content": prompt.system_prompt},
        HISTORY[1],
        {"role": "system", "content": "Be brief."},
    ]
    assert (record["model"], record["provider"]) == ("model-x", "offline")
    assert record["history"] == {"sent": 1, "dropped": 1}
    tokens = record["tokens"]
    assert tokens == {
        "system": estimate_tokens(prompt.system_prompt),
        "lorebook": estimate_tokens("Lamp lore."),
        "history": estimate_tokens(HISTORY[1]["content"]),
        "postHistory": estimate_tokens("Be brief."),
        "total": tokens["system"] + tokens["history"] + tokens["postHistory"],
    }
    assert [hit["key"] for hit in record["lorebook"]] == ["lamp"]

"""The lorebook matcher (characters/lorebook.py): each rule of the V2/V3 specifications'
`character_book`, with SillyTavern's world info where the specifications leave a choice."""

from __future__ import annotations

import pytest

from ai.engine import estimate_tokens
from characters.lorebook import (
    DEFAULT_SCAN_DEPTH,
    RECURSION_STEPS,
    decorators,
    lorebook_fire,
    macros,
    regex_key,
)


def entry(keys, content, **fields) -> dict:
    return {
        "keys": keys,
        "content": content,
        "extensions": {},
        "enabled": True,
        "insertion_order": 0,
        **fields,
    }


def book(*entries, **fields) -> dict:
    return {"extensions": {}, "entries": list(entries), **fields}


def fired(lore, messages, **kwargs) -> list[str]:
    return [hit.content for hit in lorebook_fire(lore, messages, **kwargs)]


LIGHTHOUSE = entry(["lighthouse"], "The lighthouse has been dark for ten years.")


class TestKeys:
    def test_an_entry_fires_on_its_key_and_names_it(self):
        hits = lorebook_fire(book(entry(["tower", "lighthouse"], "Lore.")), ["The Lighthouse."])
        assert [(hit.key, hit.source, hit.secondary_key) for hit in hits] == [
            ("lighthouse", "chat", None)
        ]

    def test_no_key_in_the_messages_fires_nothing(self):
        assert fired(book(LIGHTHOUSE), ["A quiet harbour."]) == []

    def test_keys_are_case_insensitive_by_default(self):
        assert fired(book(LIGHTHOUSE), ["THE LIGHTHOUSE"]) == [LIGHTHOUSE["content"]]

    def test_case_sensitive_keys_match_only_their_case(self):
        lore = book(entry(["Lighthouse"], "Lore.", case_sensitive=True))
        assert fired(lore, ["the lighthouse"]) == []
        assert fired(lore, ["the Lighthouse"]) == ["Lore."]

    def test_keys_match_inside_words_as_sillytavern_matches_them(self):
        assert fired(book(entry(["light"], "Lore.")), ["lighthouses"]) == ["Lore."]

    def test_a_key_never_spans_two_messages(self):
        assert fired(book(entry(["harbour light"], "Lore.")), ["the harbour", "light"]) == []

    def test_blank_keys_never_match(self):
        assert fired(book(entry(["", "  "], "Lore.")), ["anything at all"]) == []


class TestSelectiveAndConstant:
    SELECTIVE = entry(["keeper"], "The keeper is old.", selective=True, secondary_keys=["lamp"])

    def test_a_selective_entry_needs_a_secondary_key_too(self):
        assert fired(book(self.SELECTIVE), ["the keeper sleeps"]) == []
        hits = lorebook_fire(book(self.SELECTIVE), ["the keeper trims the LAMP"])
        assert [(hit.key, hit.secondary_key) for hit in hits] == [("keeper", "lamp")]

    def test_secondary_keys_are_ignored_unless_selective(self):
        lore = book({**self.SELECTIVE, "selective": False})
        assert fired(lore, ["the keeper sleeps"]) == ["The keeper is old."]

    def test_a_selective_entry_without_secondary_keys_needs_only_its_key(self):
        lore = book({**self.SELECTIVE, "secondary_keys": []})
        assert fired(lore, ["the keeper sleeps"]) == ["The keeper is old."]

    def test_a_constant_entry_fires_without_a_key(self):
        hits = lorebook_fire(book(entry(["never said"], "Always.", constant=True)), ["hello"])
        assert [(hit.content, hit.key, hit.source) for hit in hits] == [
            ("Always.", None, "constant")
        ]

    def test_a_constant_entry_fires_with_no_messages(self):
        assert fired(book(entry([], "Always.", constant=True)), []) == ["Always."]


class TestEnabledAndContent:
    def test_a_disabled_entry_never_fires_not_even_constant(self):
        lore = book(
            {**LIGHTHOUSE, "enabled": False},
            entry(["x"], "Hidden.", enabled=False, constant=True),
        )
        assert fired(lore, ["the lighthouse"]) == []

    def test_an_empty_content_adds_nothing(self):
        assert fired(book(entry(["lighthouse"], "  \n")), ["the lighthouse"]) == []

    @pytest.mark.parametrize(
        "lore",
        [None, "a book", {"entries": "no list"}, book("not an entry", {"keys": 3})],
    )
    def test_a_malformed_book_or_entry_is_skipped(self, lore):
        assert fired(lore, ["the lighthouse"]) == []


class TestScanDepth:
    MESSAGES = ["the lighthouse", "a gull", "the tide", "the boat"]

    def test_the_default_scans_sillytaverns_two_newest_messages(self):
        assert DEFAULT_SCAN_DEPTH == 2
        assert fired(book(LIGHTHOUSE), self.MESSAGES) == []
        assert fired(book(LIGHTHOUSE), self.MESSAGES[:3]) == []
        assert fired(book(LIGHTHOUSE), self.MESSAGES[:2]) == [LIGHTHOUSE["content"]]

    def test_scan_depth_reaches_older_messages(self):
        assert fired(book(LIGHTHOUSE, scan_depth=3), self.MESSAGES) == []
        assert fired(book(LIGHTHOUSE, scan_depth=4), self.MESSAGES) == [LIGHTHOUSE["content"]]

    def test_a_depth_beyond_the_chat_scans_it_all(self):
        assert fired(book(LIGHTHOUSE, scan_depth=50), self.MESSAGES) == [LIGHTHOUSE["content"]]

    def test_scan_depth_zero_scans_nothing_but_constants_still_fire(self):
        lore = book(LIGHTHOUSE, entry([], "Always.", constant=True), scan_depth=0)
        assert fired(lore, ["the lighthouse"]) == ["Always."]

    def test_a_scan_depth_decorator_overrides_the_books(self):
        lore = book(entry(["lighthouse"], "@@scan_depth 4\nLore."))
        assert fired(lore, self.MESSAGES) == ["Lore."]


class TestOrderAndPosition:
    def test_lower_insertion_order_goes_first_then_book_order(self):
        lore = book(
            entry(["sea"], "third", insertion_order=5),
            entry(["sea"], "first", insertion_order=-1),
            entry(["sea"], "second", insertion_order=5.0 - 5),
            entry(["sea"], "fourth", insertion_order=5),
        )
        assert fired(lore, ["the sea"]) == ["first", "second", "third", "fourth"]

    def test_position_is_before_or_after_char_and_after_when_absent(self):
        lore = book(
            entry(["sea"], "a", position="before_char"),
            entry(["sea"], "b", position="after_char"),
            entry(["sea"], "c"),
        )
        positions = [hit.position for hit in lorebook_fire(lore, ["sea"])]
        assert positions == ["before_char", "after_char", "after_char"]


class TestTokenBudget:
    def lore(self, **fields) -> dict:
        return book(
            entry(["sea"], "low " * 10, priority=1, insertion_order=1),
            entry(["sea"], "high " * 10, priority=9, insertion_order=2),
            entry(["sea"], "middle " * 10, priority=5, insertion_order=3),
            **fields,
        )

    def cost(self, *contents: str) -> int:
        return sum(estimate_tokens(text.strip()) for text in contents)

    def test_over_budget_the_lowest_priority_entries_are_dropped(self):
        budget = self.cost("high " * 10, "middle " * 10)
        kept = fired(self.lore(token_budget=budget), ["sea"])
        assert kept == ["high " * 9 + "high", "middle " * 9 + "middle"]

    def test_a_budget_one_token_short_drops_one_more(self):
        budget = self.cost("high " * 10, "middle " * 10) - 1
        assert fired(self.lore(token_budget=budget), ["sea"]) == ["high " * 9 + "high"]

    def test_without_priority_the_lowest_insertion_order_goes_first(self):
        lore = book(
            entry(["sea"], "early", insertion_order=1),
            entry(["sea"], "late", insertion_order=2),
            token_budget=estimate_tokens("late"),
        )
        assert fired(lore, ["sea"]) == ["late"]

    def test_constant_entries_count_against_the_budget_too(self):
        lore = book(
            entry([], "always " * 10, constant=True, priority=0),
            entry(["sea"], "keyed", priority=1),
            token_budget=estimate_tokens("keyed"),
        )
        assert fired(lore, ["sea"]) == ["keyed"]

    @pytest.mark.parametrize("budget", [None, 0, -5, "100"])
    def test_no_positive_budget_keeps_everything(self, budget):
        assert len(fired(self.lore(token_budget=budget), ["sea"])) == 3

    def test_each_hit_carries_its_token_estimate(self):
        hits = lorebook_fire(book(LIGHTHOUSE), ["lighthouse"])
        assert hits[0].tokens == estimate_tokens(LIGHTHOUSE["content"])


class TestRegex:
    def test_use_regex_makes_every_key_a_pattern(self):
        lore = book(entry([r"light\s*house"], "Lore.", use_regex=True))
        hits = lorebook_fire(lore, ["the LIGHT HOUSE"])
        assert [(hit.content, hit.key) for hit in hits] == [("Lore.", r"light\s*house")]

    def test_a_bare_pattern_follows_case_sensitive(self):
        lore = book(entry(["Light"], "Lore.", use_regex=True, case_sensitive=True))
        assert fired(lore, ["light"]) == []
        assert fired(lore, ["Light"]) == ["Lore."]

    def test_a_slashed_key_is_a_regex_with_its_own_flags(self):
        sensitive = book(entry(["/gulls?/"], "Lore."))
        insensitive = book(entry(["/gulls?/i"], "Lore."))
        assert fired(sensitive, ["GULLS"]) == []
        assert fired(insensitive, ["GULLS"]) == ["Lore."]
        assert fired(sensitive, ["two gulls"]) == ["Lore."]

    def test_a_slashed_key_with_an_unescaped_slash_is_plain_text(self):
        lore = book(entry(["/a/b/"], "Lore."))
        assert fired(lore, ["x /a/b/ y"]) == ["Lore."]
        assert fired(lore, ["ab"]) == []

    @pytest.mark.parametrize("pattern", [r"(a)\1", "(?=a)", "(unclosed", "a" * 1001])
    def test_a_pattern_re2_refuses_matches_nothing(self, pattern):
        assert regex_key(pattern, case_sensitive=False) is None
        assert fired(book(entry([pattern], "Lore.", use_regex=True)), ["aaaa"]) == []

    def test_use_regex_ignores_constant_and_secondary_keys_as_v3_says(self):
        lore = book(
            entry(["nothing here"], "Not constant.", use_regex=True, constant=True),
            entry(
                ["sea"],
                "Secondary ignored.",
                use_regex=True,
                selective=True,
                secondary_keys=["absent"],
            ),
        )
        assert fired(lore, ["the sea"]) == ["Secondary ignored."]

    def test_a_pathological_pattern_answers_at_once(self):
        lore = book(entry(["(a+)+$", "(a|aa)*b", "(.*a){12}z"], "Lore.", use_regex=True))
        assert fired(lore, ["a" * 50_000 + "!"]) == []
        assert fired(lore, ["a" * 50_000]) == ["Lore."]


class TestRecursion:
    LORE = [
        entry(["harbour"], "The harbour has a lighthouse.", insertion_order=1),
        entry(["lighthouse"], "The lighthouse keeper is named Ada.", insertion_order=2),
        entry(["ada"], "Ada keeps a cat.", insertion_order=3),
    ]

    def test_without_recursive_scanning_content_fires_nothing(self):
        assert fired(book(*self.LORE), ["the harbour"]) == [self.LORE[0]["content"]]
        assert fired(book(*self.LORE, recursive_scanning=False), ["the harbour"]) == [
            self.LORE[0]["content"]
        ]

    def test_recursive_scanning_lets_content_fire_other_entries(self):
        hits = lorebook_fire(book(*self.LORE, recursive_scanning=True), ["the harbour"])
        assert [(hit.key, hit.source) for hit in hits] == [
            ("harbour", "chat"),
            ("lighthouse", "recursion"),
            ("ada", "recursion"),
        ]

    def test_recursion_stops_after_its_bounded_steps(self):
        chain = [
            entry([f"word{i}"], f"Then word{i + 1}.", insertion_order=i)
            for i in range(RECURSION_STEPS + 5)
        ]
        hits = fired(book(*chain, recursive_scanning=True), ["word0"])
        assert len(hits) == 1 + RECURSION_STEPS


class TestDecoratorsAndMacros:
    def test_decorators_are_removed_from_the_content(self):
        marks, content = decorators("@@scan_depth 3\n@@unknown thing\n\nThe lore.\n@@not_at_head")
        assert marks == {"scan_depth": "3"}
        assert content == "The lore.\n@@not_at_head"

    def test_a_fallback_stands_in_for_an_unknown_decorator_only(self):
        marks, _ = decorators("@@risu_thing 4\n@@@scan_depth 7\n@@activate\n@@@dont_activate\nx")
        assert marks == {"scan_depth": "7", "activate": ""}

    def test_dont_activate_keeps_an_entry_out_and_activate_brings_it_in(self):
        lore = book(
            entry(["sea"], "@@dont_activate\nNever."),
            entry(["nowhere"], "@@activate\nAlways."),
            entry(["sea"], "@@dont_activate\n@@activate\nBoth."),
        )
        hits = lorebook_fire(lore, ["the sea"])
        assert [(hit.content, hit.source) for hit in hits] == [
            ("Always.", "decorator"),
            ("Both.", "decorator"),
        ]

    def test_char_and_user_are_replaced_in_keys_and_content(self):
        lore = book(entry(["{{char}}'s lamp"], "{{CHAR}} lends {{user}} the lamp."))
        hits = lorebook_fire(lore, ["I borrow Mira's lamp"], char="Mira")
        assert [(hit.content, hit.key) for hit in hits] == [
            ("Mira lends User the lamp.", "Mira's lamp")
        ]

    def test_macros_leave_other_braces_alone(self):
        assert macros("{{char}} {{ char }} {{original}} {{User}}", char="Ada") == (
            "Ada {{ char }} {{original}} User"
        )


def test_the_record_names_the_entry_by_id_else_index():
    lore = book(
        entry(["sea"], "a", id=41, name="Sea", comment="about the sea", position="before_char"),
        entry(["sea"], "b", insertion_order=2),
    )
    records = [hit.record() for hit in lorebook_fire(lore, ["sea"])]
    assert records == [
        {
            "entry": 41,
            "index": 0,
            "name": "Sea",
            "comment": "about the sea",
            "key": "sea",
            "secondaryKey": None,
            "source": "chat",
            "position": "before_char",
            "insertionOrder": 0,
            "tokens": estimate_tokens("a"),
        },
        {
            "entry": 1,
            "index": 1,
            "name": None,
            "comment": None,
            "key": "sea",
            "secondaryKey": None,
            "source": "chat",
            "position": "after_char",
            "insertionOrder": 2,
            "tokens": estimate_tokens("b"),
        },
    ]

"""The game master's instructions: what the model is told about a session."""

from __future__ import annotations

from games.models import GameSession, GameTitle

GM_PROMPT = (
    "You are the game master of a text role-playing game. Narrate in the second person, keep "
    "each reply under 120 words, stay consistent with the scenario and the character sheet, "
    "and end by inviting the player to act. Never speak for the player."
)


def system_prompt_for(session: GameSession) -> str:
    """The game master's instructions plus "Label: value" lines of the session's context."""
    lines = [GM_PROMPT]
    game = session.game
    title = game.game_title
    if game.title or title:
        lines.append(f"Game: {game.title or title.title}")
    character = session.character
    if character is not None:
        health = character.health or {}
        stats = ", ".join(f"{k} {v}" for k, v in (character.stats or {}).items())
        lines.append(
            f"Character: {character.name}, level {character.level} "
            f"{character.character_class or 'adventurer'}"
            + (f"; {stats}" if stats else "")
            + (f"; health {health.get('current')}/{health.get('max')}" if health else "")
        )
    if title is not None and title.scenario:
        scenario = title.scenario
        parts = [
            scenario.get("hook"),
            f"The player is {scenario['role']}." if scenario.get("role") else None,
            f"Mission: {scenario['mission']}" if scenario.get("mission") else None,
        ]
        lines.append("Scenario: " + " ".join(p for p in parts if p))
    elif title is not None and title.description:
        lines.append(f"Scenario: {title.description}")
    progress = getattr(session, "progress", None)
    if progress is not None:
        lines.append(f"Progress: chapter {progress.chapter}, step {progress.step}")
    return "\n".join(lines)


def scenario_instructions(session: GameSession, title: GameTitle) -> str:
    """The prompt that opens the adventure `title` (as it will be once the title is linked)."""
    if session.game.game_title_id is None:
        session.game.game_title = title
    return (
        f"{system_prompt_for(session)}\nTask: open the adventure \u201c{title.title}\u201d. "
        "Set the scene in a few sentences when the player says Begin."
    )

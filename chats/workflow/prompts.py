"""What the model is told in a movie project's workflow chat (family M).

A turn is two model calls: the reply is streamed through the turn engine (task `dialogue`,
with the system prompt below), then the choices that follow it come from structured output
(task `choices`, `choices_schema`): 2 to 4 options, each with a title, a description and free
metadata, and the workflow step the conversation should move to next. The server gives each
choice its id, so a model cannot make two choices collide or reuse an old offer's id.
"""

from __future__ import annotations

import json

from projects import workflow

MIN_CHOICES = 2
MAX_CHOICES = 4

WORKFLOW_PROMPT = (
    "You are the creative director of an AI movie studio, guiding a team through the "
    "production workflow of their project one step at a time. Answer the team's last message "
    "in a few sentences, concretely and encouragingly, focused on the current step; build on "
    "what was already decided. Do not list options: the options are offered separately."
)

CHOICES_PROMPT = (
    "You offer the next decisions in a movie project's production workflow. Read the project, "
    "the current step and the last exchange, and offer {low} to {high} distinct options the "
    "team can choose from to move on: each with a short title, a one-sentence description and "
    "metadata (difficulty: low, medium or high; duration: a rough estimate such as '2-3 "
    "episodes'). Name in nextStep the workflow step the team should work on after this "
    "decision."
)


def next_step_candidates(project, step: str | None) -> list[str]:
    """Steps the conversation may move to next: the next open steps after the current one
    (`workflow.next_steps`, so a decision skips at most one step), else the current one,
    else the last step."""
    return workflow.next_steps(project) or [step or workflow.STEP_NAMES[-1]]


def choices_schema(next_steps: list[str]) -> dict:
    """Structured output of the choices call (strict-mode compatible: every key required);
    `nextStep` is one of `next_steps`."""
    return {
        "type": "object",
        "properties": {
            "choices": {
                "type": "array",
                "minItems": MIN_CHOICES,
                "maxItems": MAX_CHOICES,
                "items": {
                    "type": "object",
                    "properties": {
                        "title": {"type": "string", "minLength": 1, "maxLength": 120},
                        "description": {"type": "string", "maxLength": 500},
                        "metadata": {
                            "type": "object",
                            "properties": {
                                "difficulty": {"type": "string", "enum": ["low", "medium", "high"]},
                                "duration": {"type": "string", "maxLength": 60},
                            },
                            "required": ["difficulty", "duration"],
                            "additionalProperties": False,
                        },
                    },
                    "required": ["title", "description", "metadata"],
                    "additionalProperties": False,
                },
            },
            "nextStep": {"type": "string", "enum": list(next_steps)},
        },
        "required": ["choices", "nextStep"],
        "additionalProperties": False,
    }


def _project_lines(project, step: str | None) -> list[str]:
    lines = [f"Project: {project.title}"]
    if project.genre:
        lines.append(f"Genre: {project.genre}")
    if project.description.strip():
        lines.append(f"Description: {' '.join(project.description.split())}")
    if project.target_audience:
        lines.append(f"Target audience: {project.target_audience}")
    lines.append(f"Episodes: {project.episode_count}")
    if step:
        lines.append(f"Current step: {step} ({workflow.STEP_TITLES.get(step, step)})")
    done = workflow.completed_steps(project)
    if done:
        lines.append(f"Completed steps: {', '.join(done)}")
    return lines


def workflow_system_prompt(project, step: str | None, context: dict) -> str:
    """The director's instructions, the project's facts, its step and the session's context
    (decisions taken so far, referenced media)."""
    lines = [WORKFLOW_PROMPT, *_project_lines(project, step)]
    decisions = context.get("decisions") or []
    if decisions:
        lines.append(
            "Decisions so far: " + "; ".join(f"{d['step']}: {d['text']}" for d in decisions)
        )
    media = context.get("mediaReferences") or []
    if media:
        lines.append(f"Reference media attached: {len(media)} item(s)")
    return "\n".join(lines)


def choices_messages(*, project, step: str | None, user_line: str, reply: str) -> list[dict]:
    return [
        {"role": "system", "content": CHOICES_PROMPT.format(low=MIN_CHOICES, high=MAX_CHOICES)},
        {
            "role": "user",
            "content": "\n".join(
                [
                    *_project_lines(project, step),
                    f"Open workflow steps: {json.dumps(next_step_candidates(project, step))}",
                    f"Team: {user_line}",
                    f"Director: {reply}",
                ]
            ),
        },
    ]

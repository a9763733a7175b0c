"""The movie workflow: a fixed list of twelve steps every project walks through.

Seed 003 names the steps in its examples (`concept-development`, `setting-selection`,
`character-development`, `character-design`, `plot-outline`) and shows both 12 and 15 as
`totalSteps`; the platform uses the twelve below, in this order. A project's progress is the
share of these steps it has completed, rounded to a whole percent.

The workflow chat calls `step_advance` when a choice completes a step; nothing else writes a
project's workflow state.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from core.errors import ValidationFailed

WORKFLOW_STEPS: tuple[tuple[str, str], ...] = (
    ("concept-development", "Concept development"),
    ("setting-selection", "Setting selection"),
    ("character-development", "Character development"),
    ("character-design", "Character design"),
    ("plot-outline", "Plot outline"),
    ("episode-breakdown", "Episode breakdown"),
    ("scene-planning", "Scene planning"),
    ("script-writing", "Script writing"),
    ("storyboarding", "Storyboarding"),
    ("visual-style", "Visual style"),
    ("music-and-sound", "Music and sound"),
    ("final-review", "Final review"),
)
STEP_NAMES: tuple[str, ...] = tuple(name for name, _ in WORKFLOW_STEPS)
STEP_TITLES: dict[str, str] = dict(WORKFLOW_STEPS)
TOTAL_STEPS = len(STEP_NAMES)
FIRST_STEP = STEP_NAMES[0]
# currentPhase before any step has started, and once every step is done.
PHASE_INITIAL = "initial"
PHASE_COMPLETE = "complete"
# How many upcoming steps `nextSteps` names.
NEXT_STEPS_SHOWN = 2


def is_step(name: str) -> bool:
    return name in STEP_TITLES


def _ordered(steps) -> list[str]:
    """Known step names from `steps`, once each, in workflow order."""
    wanted = set(steps or ())
    return [name for name in STEP_NAMES if name in wanted]


def completed_steps(project) -> list[str]:
    return _ordered(project.completed_steps)


def percentage(completed_count: int) -> int:
    """Completed / total as a whole percent (half rounds up: 1 of 8 would be 13)."""
    return int(completed_count * 100 / TOTAL_STEPS + 0.5)


def current_phase(project) -> str:
    """The step being worked on, "initial" before the first, "complete" after the last."""
    if project.current_step:
        return project.current_step
    if len(completed_steps(project)) >= TOTAL_STEPS:
        return PHASE_COMPLETE
    return PHASE_INITIAL


def working_step(project) -> str | None:
    """The step a chat about this project works on: the current one, else the first not
    completed; None when the workflow is complete."""
    if project.current_step:
        return project.current_step
    return _first_open(set(project.completed_steps or ()), after=None)


def _first_open(done: set[str], after: str | None) -> str | None:
    """The first step not in `done`, looking after `after` first, then from the start."""
    start = STEP_NAMES.index(after) + 1 if after in STEP_TITLES else 0
    for name in STEP_NAMES[start:] + STEP_NAMES[:start]:
        if name not in done:
            return name
    return None


def next_steps(project, count: int = NEXT_STEPS_SHOWN) -> list[str]:
    """Up to `count` steps not yet completed that come after the current one."""
    done = set(project.completed_steps or ())
    current = working_step(project)
    if current is None:
        return []
    start = STEP_NAMES.index(current) + 1
    return [name for name in STEP_NAMES[start:] if name not in done][:count]


@dataclass(frozen=True)
class Progress:
    """A project's workflow progress, in the terms the API shows."""

    percentage: int
    current_phase: str
    completed_steps: list[str]
    next_steps: list[str]
    total_steps: int = TOTAL_STEPS


def progress(project) -> Progress:
    done = completed_steps(project)
    return Progress(
        percentage=percentage(len(done)),
        current_phase=current_phase(project),
        completed_steps=done,
        next_steps=next_steps(project),
    )


def workflow_steps(project) -> list[dict]:
    """Every step with its state: completed, current or pending."""
    done = set(project.completed_steps or ())
    current = project.current_step
    items = []
    for order, (name, title) in enumerate(WORKFLOW_STEPS, start=1):
        if name in done:
            state = "completed"
        elif name == current:
            state = "current"
        else:
            state = "pending"
        items.append({"id": name, "title": title, "order": order, "status": state})
    return items


def step_advance(*, project, step: str, next_step: str | None = None) -> Progress:
    """Complete `step` of `project` and move it on; return the new progress.

    The project becomes current at `next_step` when that names a step not yet completed (the
    model's suggestion), else at the first step after `step` not yet completed; once every
    step is done there is no current step (phase "complete"). Completing a step twice
    changes nothing. The row is locked, so two choices at once cannot lose a step.
    """
    from projects.models import Project

    if not is_step(step):
        raise ValidationFailed(
            f"Unknown workflow step {step!r}",
            details=[{"field": "step", "message": f"Must be one of: {', '.join(STEP_NAMES)}."}],
        )
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        done = set(locked.completed_steps or ())
        done.add(step)
        if next_step and is_step(next_step) and next_step not in done:
            current = next_step
        else:
            current = _first_open(done, after=step) or ""
        locked.completed_steps = _ordered(done)
        locked.completed_count = len(locked.completed_steps)
        locked.current_step = current
        locked.save(
            update_fields=["completed_steps", "completed_count", "current_step", "updated_at"]
        )
    project.completed_steps = locked.completed_steps
    project.completed_count = locked.completed_count
    project.current_step = locked.current_step
    project.updated_at = locked.updated_at
    return progress(project)

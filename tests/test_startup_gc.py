"""What a serving process does to the garbage collector after start-up (config/startup.py):
what survives a slow full collection is frozen, and handed back once frozen `whole_every`
seconds, so that one full collection walks everything and frees the cycles that died frozen."""

from __future__ import annotations

import gc
import weakref
from contextlib import contextmanager

import pytest

from config.startup import FreezeAfterFullCollections, freeze_after_full_collections


class Clock:
    """Moves `step` seconds at each reading: each collection takes `step` seconds."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Node:
    """A reference cycle's member, which tells when it is freed."""

    def __init__(self) -> None:
        self.me = self


@contextmanager
def installed_policy(collection_takes: float):
    """The policy installed in this process, each full collection taking `collection_takes`
    seconds on its clock; removed after, with everything it froze handed back."""
    clock = Clock(collection_takes)
    installed = FreezeAfterFullCollections(60, slow=0.05, clock=clock)
    gc.collect()
    gc.callbacks.append(installed)
    try:
        yield installed, clock
    finally:
        gc.callbacks.remove(installed)
        gc.unfreeze()
        gc.collect()


@pytest.fixture
def policy():
    with installed_policy(0.1) as installed:
        yield installed


@pytest.fixture
def quick_policy():
    with installed_policy(0.01) as installed:
        yield installed


def test_what_survives_a_full_collection_is_frozen(policy):
    gc.unfreeze()
    kept = [Node() for _ in range(100)]
    gc.collect()
    assert gc.get_freeze_count() >= len(kept)
    oldest = {id(obj) for obj in gc.get_objects(generation=2)}
    assert not [node for node in kept if id(node) in oldest]  # none left for the next walk


def test_a_cycle_that_dies_frozen_waits_for_the_whole_collection_then_is_freed(policy):
    installed, clock = policy
    cycle = Node()
    alive = weakref.ref(cycle)
    gc.collect()  # the cycle survives and is frozen
    del cycle
    gc.collect()
    assert alive() is not None, "a frozen cycle is left to the whole collection"

    clock.now += 61
    gc.collect()  # the period is over: everything frozen is handed back after this one
    assert gc.get_freeze_count() == 0
    gc.collect()  # walks everything
    assert alive() is None
    assert gc.get_freeze_count() > 0 and installed.frozen_at is not None  # frozen again


def test_after_a_quick_full_collection_nothing_is_frozen(quick_policy):
    gc.unfreeze()
    kept = [Node() for _ in range(100)]
    gc.collect()
    assert gc.get_freeze_count() == 0 and len(kept) == 100


def test_a_process_whose_collections_are_quick_keeps_its_start_up_freeze(quick_policy):
    _, clock = quick_policy
    gc.freeze()  # as start-up does
    frozen = gc.get_freeze_count()
    clock.now += 3600
    gc.collect()
    gc.collect()
    assert gc.get_freeze_count() == frozen  # nothing it froze itself: nothing handed back


def test_objects_frozen_are_still_freed_by_reference_counting(policy):
    plain = Node()
    plain.me = None  # no cycle
    alive = weakref.ref(plain)
    gc.collect()
    del plain
    assert alive() is None


def test_the_policy_is_installed_once_and_not_at_all_with_zero():
    assert freeze_after_full_collections(0) is None
    try:
        first = freeze_after_full_collections(30)
        assert freeze_after_full_collections(30) is first
        assert sum(isinstance(c, FreezeAfterFullCollections) for c in gc.callbacks) == 1
    finally:
        gc.callbacks[:] = [c for c in gc.callbacks if not isinstance(c, FreezeAfterFullCollections)]
        gc.unfreeze()

"""What a piece of work leaves for the cycle collector, and which cycles hold it.

`left_for_collector(work)` runs `work` with the collector off, then finds what only the
collector could free (`gc.DEBUG_SAVEALL` keeps it in `gc.garbage` for a look). `root_cycles`
groups that garbage into its cycles (strongly connected components) and keeps those that no
other garbage reaches: each is a reference cycle the work made, the rest is what they hold.
"""

from __future__ import annotations

import gc
import types
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


def type_name(obj: object) -> str:
    """A readable name: frames and coroutines by their code, tasks by their coroutine."""
    kind = type(obj)
    if kind is types.FrameType:
        path = "/".join(obj.f_code.co_filename.split("/")[-2:])
        return f"frame {obj.f_code.co_name} ({path})"
    if kind is types.CoroutineType:
        return f"coroutine {obj.__qualname__}"
    if kind is types.MethodType:
        return f"method {obj.__func__.__qualname__}"
    if kind is type:  # a class made at run time: which one
        return f"class {obj.__module__}.{obj.__qualname__}"
    return f"{kind.__module__}.{kind.__qualname__}"


@dataclass
class Cycle:
    """A reference cycle no other garbage reaches: its members' types, and how many objects
    it keeps (itself and what only it reaches)."""

    members: Counter
    kinds: set[type]
    keeps: int

    def has(self, *fragments: str) -> bool:
        return all(any(f in name for name in self.members) for f in fragments)

    def __str__(self) -> str:
        kinds = ", ".join(sorted(n for n in self.members if not n.startswith("builtins.")))
        return f"{kinds or ', '.join(sorted(self.members))} (keeps {self.keeps})"


async def left_for_collector(work: Callable[[], Awaitable[object]]) -> list:
    """The objects `work` left that only the collector frees (the caller drops the list)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        await work()
        gc.collect()
        garbage = list(gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(0)
        gc.enable()
    return garbage


def _components(adjacent: list[list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components, without recursion."""
    index: list[int | None] = [None] * len(adjacent)
    low = [0] * len(adjacent)
    on_stack = [False] * len(adjacent)
    stack: list[int] = []
    found: list[list[int]] = []
    counter = 0
    for start in range(len(adjacent)):
        if index[start] is not None:
            continue
        work = [(start, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack[node] = True
            descended = False
            for offset in range(position, len(adjacent[node])):
                other = adjacent[node][offset]
                if index[other] is None:
                    work += [(node, offset + 1), (other, 0)]
                    descended = True
                    break
                if on_stack[other]:
                    low[node] = min(low[node], index[other])
            if descended:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = False
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def root_cycles(garbage: list) -> list[Cycle]:
    """The cycles in `garbage` that no other garbage reaches."""
    position = {id(obj): n for n, obj in enumerate(garbage)}
    adjacent = [
        [position[id(r)] for r in gc.get_referents(obj) if id(r) in position] for obj in garbage
    ]
    components = _components(adjacent)
    component_of = {}
    for number, component in enumerate(components):
        for node in component:
            component_of[node] = number
    reached = {
        component_of[other]
        for node, others in enumerate(adjacent)
        for other in others
        if component_of[other] != component_of[node]
    }
    cycles = []
    for number, component in enumerate(components):
        cyclic = len(component) > 1 or component[0] in adjacent[component[0]]
        if not cyclic or number in reached:
            continue
        kept, pending = set(component), list(component)
        while pending:
            for other in adjacent[pending.pop()]:
                if other not in kept:
                    kept.add(other)
                    pending.append(other)
        members = Counter(type_name(garbage[node]) for node in component)
        kinds = {type(garbage[node]) for node in component}
        cycles.append(Cycle(members, kinds, len(kept)))
    return cycles

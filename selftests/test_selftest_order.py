"""The selftests' own order (`conftest.py`): waiting and CPU-bound tests side
by side, each kind longest first, the Locust runs spread out, every test kept."""

from __future__ import annotations

from itertools import pairwise

from .conftest import interleaved

LIVE = "selftests/test_live_mode.py::test_fault_is_caught_live"
INPROCESS = "selftests/test_fault_detection.py::test_fault_is_caught_by_its_rule"
LOAD = "selftests/test_load.py::test_each_concurrency_fault_is_caught_by_its_rule"


def test_both_kinds_are_taken_in_step_and_the_load_runs_spread() -> None:
    waiting = [f"{LIVE}[requeued-after-pause]", f"{LIVE}[eta-negative]",
               *(f"{LIVE}[f{i}]" for i in range(6))]
    cpu = [f"{INPROCESS}[f{i}]" for i in range(16)]
    load = [f"{LOAD}[l{i}]" for i in range(3)]
    unnamed = [f"selftests/test_oracles.py::test_holds[{x}]" for x in "ba"]
    order = interleaved([*unnamed, *load, *cpu, *waiting])
    assert sorted(order) == sorted([*unnamed, *load, *cpu, *waiting])
    assert order[0] in (waiting[0], cpu[0]) and waiting[0] in order[:2]
    assert order[-2:] == unnamed  # no expected seconds: last, as collected
    # Both kinds go at the pace of their own seconds: after half of each
    # queue's seconds, about half of each kind has started.
    head = order[:len(order) // 2]
    assert 6 <= sum(n in cpu for n in head) <= 10
    assert 2 <= sum(n in waiting for n in head) <= 5
    assert [n for n in order if n in waiting][:2] == waiting[:2]  # longest first
    places = [order.index(n) for n in load]
    assert places == sorted(places) and min(b - a for a, b in pairwise(places)) >= 5

"""How a load run's users choose their scenarios (load/scenarios.py `pick`)."""

from __future__ import annotations

import random

import pytest

from jobcontracts.budget import Allowance
from jobcontracts.load.scenarios import Stage, pick, scenarios_for


def stage(user: int, turn: int, *, paid: int | None = None) -> Stage:
    return Stage(racers=6, burst=30, rng=random.Random(0),
                 paid=Allowance("generations", paid, None, ""), user=user, turn=turn)


@pytest.mark.parametrize("api", ["specstep", "pos", "interrogation", "jobs"])
def test_a_few_users_start_every_scenario_on_their_first_turn(api: str) -> None:
    weighted = {s.name for s in scenarios_for(api) if s.weight > 0}
    users = range(1, len(weighted) + 1)
    first = {chosen.name for user in users if (chosen := pick(scenarios_for(api),
                                                                stage(user, 0))) is not None}
    assert first == weighted


def test_each_user_takes_every_scenario_once_before_drawing_by_weight() -> None:
    scenarios = scenarios_for("specstep")
    weighted = [s.name for s in scenarios if s.weight > 0]
    turns = [pick(scenarios, stage(3, turn)) for turn in range(len(weighted))]
    assert sorted(s.name for s in turns if s is not None) == sorted(weighted)
    later = {s.name for turn in range(len(weighted), 200)
             if (s := pick(scenarios, stage(3, turn))) is not None}
    assert later <= set(weighted) and "throughput" not in later


def test_a_spent_budget_leaves_only_the_free_scenarios() -> None:
    scenarios = scenarios_for("specstep")
    free = {s.name for s in scenarios if s.weight > 0 and s.paid == 0}
    chosen = {s.name for user in range(1, 9) for turn in range(12)
              if (s := pick(scenarios, stage(user, turn, paid=0))) is not None}
    assert chosen == free

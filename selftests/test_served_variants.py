"""Lawful servers nobody here wrote: each API's simulator served over HTTP as
one of its variants (`jobcontracts serve API --variant N`: the choices the
documents leave open, such as check order, refusals of inputs they do not
rule on, timing, Retry-After, page sizes and texts), met by the live suite
with a hypothesis seed of its own and a budget that reaches every rule. The
suite must pass with every rule verified and nothing violated: a test or an
oracle that leans on the reference simulator's habits fails here.

A variant's run is the live suite as a team runs it, in two invocations
where one speed cannot serve both: the rate-limit probe needs a limiter that
refills slowly (speed 2), the paid jobs a clock that runs fast.

CI sweeps variant 1 (variant 0, the reference, is in test_live_mode.py and
test_jobs_suite.py); JOBCONTRACTS_SERVED_VARIANTS=20 sweeps variants 1..20."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobcontracts.apis import CONTRACT_FILES, api_support
from jobcontracts.loader import load_contract
from jobcontracts.serve import served

from .suite_runner import ROOT, SuiteRun, run_suite

VARIANTS = range(1, 1 + int(os.environ.get("JOBCONTRACTS_SERVED_VARIANTS", "1")))


@dataclass(frozen=True)
class LiveRun:
    """One invocation of the live suite against a served simulator."""

    speed: float
    args: tuple[str, ...]


#: Per API, the invocations that together reach every rule. SpecStep: seven
#: paid generations try all six review profiles. Interrogation: eight paid runs
#: cover the catalog and both stakeholder fields. Jobs: the issue's budget
#: (its contract probes the rate limit itself).
RUNS: dict[str, tuple[LiveRun, ...]] = {
    "specstep": (
        LiveRun(150, ("--max-generations", "7", "--poll-interval", "0.05", "--live-deadline",
                      "20", "--contract-setting", "clarification_resume_seconds=8")),
        LiveRun(2, ("-k", "rate_limits", "--rate-limit-probe", "60", "--poll-interval",
                    "0.05")),
        # A variant whose turns last a few simulated seconds ends them within
        # milliseconds at speed 150: slowed, a keyed retry meets its turn in
        # flight (SS-IDEM-3), as it would on a deployment.
        LiveRun(2, ("-k", "idempotency", "--poll-interval", "0.05")),
    ),
    "pos": (
        LiveRun(100, ("--max-generations", "1", "--poll-interval", "0.04", "--live-deadline",
                      "20")),
    ),
    "interrogation": (
        LiveRun(50, ("--max-generations", "8", "--poll-interval", "0.5")),
    ),
    "jobs": (
        LiveRun(10, ("--max-generations", "12", "--poll-interval", "0.05", "--live-deadline",
                     "20")),
        # Some variants allow 60 requests at once: the probe must outspend that.
        LiveRun(2, ("-k", "rate_limits", "--rate-limit-probe", "200")),
    ),
}


#: Occasions that only the server's timing offers, and the invocation that
#: tries again while one is missed. SS-CLAR-4's "after an accepted batch,
#: before the resume" needs a batch to arrive between an accepted one and the
#: dispatcher's tick: at speed 150 a tick of 30 s falls anywhere in the next
#: 200 ms, and a tick that comes before the repeat and its poll (two round
#: trips, longer on a loaded machine) leaves it honestly untried. One more
#: paid generation is one more draw of where the tick falls.
AGAIN: dict[str, tuple[str, LiveRun]] = {
    "specstep": ("SS-CLAR-4", LiveRun(150, (
        "-k", "test_full_generation", "--max-generations", "1", "--poll-interval", "0.05",
        "--live-deadline", "20", "--contract-setting", "clarification_resume_seconds=8"))),
}
TRIES = 3


def variant_seed(variant: int) -> str:
    return f"--hypothesis-seed={1000 + 37 * variant}"


def live_env(api: str, url: str) -> dict[str, str]:
    """The API's own environment variables, as a team sets them for staging."""
    target = load_contract(ROOT / "contracts" / CONTRACT_FILES[api]).target
    env = {target.url_env: url}
    if target.authenticated:
        env[target.key_env] = api_support(api).api_key
    return env


def merged(runs: list[SuiteRun]) -> dict[str, str]:
    """Each rule's best status over the invocations (violated always wins)."""
    rank = {"violated": 3, "verified": 2, "partial": 1, "not_reached": 0}
    best: dict[str, str] = {}
    for run in runs:
        for rule_id, entry in run.rules.items():
            status = entry["status"]
            if rank[status] > rank.get(best.get(rule_id, "not_reached"), -1) or \
                    status == "violated":
                best[rule_id] = status
    return best


CASES = [(api, variant) for variant in VARIANTS for api in RUNS]


@pytest.mark.parametrize(("api", "variant"), CASES,
                         ids=[f"{api}-variant{variant}" for api, variant in CASES])
def test_served_variant_passes_with_every_rule_verified(tmp_path: Path, api: str,
                                                         variant: int) -> None:
    runs: list[tuple[LiveRun, SuiteRun]] = []

    def invoke(live: LiveRun) -> None:
        with served(api, speed=live.speed, seed=11, variant=variant) as url:
            (tmp_path / str(len(runs))).mkdir()
            run = run_suite(tmp_path / str(len(runs)), "--api", api, *live.args,
                            variant_seed(variant), "--hypothesis-profile",
                            "jobcontracts-live-selftest", env=live_env(api, url))
        assert run.returncode == 0, run.output[-3000:]
        runs.append((live, run))

    for live in RUNS[api]:
        invoke(live)
    if api in AGAIN:
        rule_id, again = AGAIN[api]
        for _ in range(TRIES):
            if merged([run for _, run in runs]).get(rule_id) != "partial":
                break
            invoke(again)
    status = merged([run for _, run in runs])
    assert set(status.values()) == {"verified"}, {
        rule_id: [f"run {i} ({live.speed:g}x): {run.rules[rule_id]['status']}: "
                  f"{run.rules[rule_id].get('detail', '')}"
                  for i, (live, run) in enumerate(runs) if rule_id in run.rules]
        for rule_id, s in status.items() if s != "verified"}

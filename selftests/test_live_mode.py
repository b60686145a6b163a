"""The suite in live mode, as a team points it at a deployment: over real HTTP
against `jobcontracts serve` on loopback, within budgets."""

from __future__ import annotations

import pytest

from jobcontracts.loader import load_contract
from jobcontracts.serve import served
from jobcontracts.sims.specstep import DEFAULT_API_KEY, FAULTS

from .suite_runner import ROOT, run_suite

#: At speed 600 a Fast generation takes well under a second of wall time; a
#: resume within 2 wall seconds is 1200 simulated seconds, ample for a 10 s tick.
FAST = ["--api", "specstep", "--max-generations", "1", "--poll-interval", "0.05",
        "--live-deadline", "10", "--contract-setting", "clarification_resume_seconds=2"]
#: The served rate limiter refills on the scaled clock: slow it to provoke 429s.
RATE = ["--api", "specstep", "-k", "rate_limits", "--rate-limit-probe", "60",
        "--poll-interval", "0.05"]
CONTRACT = load_contract(ROOT / "contracts" / "specstep.yaml")
RATE_RULES = set(CONTRACT.reached_with["--rate-limit-probe"])
GENERATION_RULES = set(CONTRACT.reached_with["--max-generations"])


def live(url: str) -> dict[str, str]:
    return {"SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": DEFAULT_API_KEY}


def test_conforming_server_passes_with_one_paid_generation(tmp_path):
    with served("specstep", speed=600, seed=11) as url:
        run = run_suite(tmp_path, *FAST, env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert run.with_status("verified") == set(run.rules) - RATE_RULES
    assert run.with_status("not_reached") == RATE_RULES
    assert "1 paid generation(s) (budget 1)" in run.output


def test_budget_zero_reaches_no_generation_rule_and_says_why(tmp_path):
    with served("specstep", speed=600) as url:
        run = run_suite(tmp_path, *FAST, "--max-generations", "0", env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert run.with_status("not_reached") == GENERATION_RULES | RATE_RULES
    for rule_id in GENERATION_RULES:
        assert "--max-generations" in run.rules[rule_id]["detail"], run.rules[rule_id]
    assert {"SS-GEN-2", "SS-GEN-3", "SS-IDEM-1"} <= run.with_status("verified")
    assert "0 paid generation(s) (budget 0)" in run.output


def test_rate_limit_probe_verifies_the_rate_rules(tmp_path):
    with served("specstep", speed=2) as url:
        run = run_suite(tmp_path, *RATE, env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert run.with_status("verified") >= RATE_RULES


def test_request_budget_stops_the_run_cleanly(tmp_path):
    with served("specstep", speed=600) as url:
        run = run_suite(tmp_path, *FAST, "--max-requests", "40", env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert "requests budget (40) is spent" in run.output
    assert "40 HTTP requests" in run.output


#: Faults shown in an episode briefer than a poll at speed 600 (the last phase,
#: half a retry wait, a one-tick Queued): served slower, each spans several
#: polls. The poll pace stays under the rate limiter's refill at that speed
#: (2 tokens per simulated second), or a 429's one-second Retry-After would
#: sleep through the episode.
SLOWER = {"eta-negative": (60, 0.05), "progress-regresses": (60, 0.05),
          "requeued-after-pause": (20, 0.15)}
MORE_BUDGET = {"ordinal-rejected": 8}  # the full run's generation, then each profile


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught_live(tmp_path, fault):
    rule = FAULTS[fault].rule
    rate = rule in RATE_RULES
    speed, poll = (2, 0.05) if rate else SLOWER.get(fault, (600, 0.05))
    # A Fast generation is ~300 simulated seconds: 0.5 s at speed 600, 15 s at 20.
    deadline = "5" if speed == 600 else "60"
    args = [*(RATE if rate else FAST), "--hypothesis-profile", "jobcontracts-live-selftest",
            "--live-deadline", deadline, "--poll-interval", str(poll)]
    if fault in MORE_BUDGET:
        args += ["--max-generations", str(MORE_BUDGET[fault])]
    with served("specstep", speed=speed, faults=[fault]) as url:
        run = run_suite(tmp_path, *args, env=live(url))
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == {rule}, run.output[-3000:]

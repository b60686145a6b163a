"""The convert/goal jobs contract suite against its simulator: the conforming
server passes with every JOB-* rule verified (in-process, several seeds and
variants, and served over HTTP within the live budget), and every fault of
`sims.jobs.FAULTS` is caught by exactly its rule ids, in-process and live.

JOBCONTRACTS_JOBS_SEEDS=20 sweeps more seeds; JOBCONTRACTS_JOBS_LIVE_FAULTS=0
leaves the (slower) live fault sweep out."""

from __future__ import annotations

import os

import pytest

from jobcontracts.loader import load_contract
from jobcontracts.serve import served
from jobcontracts.sims.jobs import DEFAULT_API_KEY, FAULTS

from .suite_runner import ROOT, run_suite

CONTRACT = load_contract(ROOT / "contracts" / "jobs.yaml")
RULES = {rule.id for rule in CONTRACT.rules}
PAID_RULES = set(CONTRACT.reached_with["--max-generations"])
RATE_RULES = set(CONTRACT.reached_with["--rate-limit-probe"])
SEED = os.environ.get("JOBCONTRACTS_SEED", "0")
SEEDS = range(1, 1 + int(os.environ.get("JOBCONTRACTS_JOBS_SEEDS", "3")))
LIVE_FAULTS = os.environ.get("JOBCONTRACTS_JOBS_LIVE_FAULTS", "1") != "0"

#: The issue's live command: 12 paid jobs, a poll every 0.2 s, 60 s per wait.
BUDGET = ["--api", "jobs", "--max-generations", "12", "--poll-interval", "0.2",
          "--live-deadline", "60"]
#: Served 10 times faster than a deployment: a goal job lasts about a second
#: of wall time, and a 0.05 s poll (0.5 simulated s) still sees every stage.
SPEED = 10
FAST = ["--api", "jobs", "--max-generations", "12", "--poll-interval", "0.05",
        "--live-deadline", "20"]
#: The served rate limiter refills on the scaled clock: served slower, a burst
#: of reads meets a 429 (at speed 10 it refills faster than loopback reads).
RATE = ["--api", "jobs", "-k", "rate_limits", "--rate-limit-probe", "60"]
RATE_SPEED = 2


def live(url: str) -> dict[str, str]:
    return {"JOBS_API_URL": url, "JOBS_API_KEY": DEFAULT_API_KEY}


def unverified(run):
    return {rule_id: entry["detail"] for rule_id, entry in run.rules.items()
            if entry["status"] != "verified"}


def test_the_contract_has_every_job_rule():
    assert len(RULES) == 27 and all(rule.startswith("JOB-") for rule in RULES)
    assert {rule for fault in FAULTS.values() for rule in fault.rules} == RULES


@pytest.mark.parametrize("seed", SEEDS)
def test_conforming_simulator_passes_with_every_rule_verified(tmp_path, seed):
    run = run_suite(tmp_path, "--api", "jobs", f"--hypothesis-seed={seed}",
                    "--sim-variant", str(seed - 1))
    assert run.returncode == 0, run.output[-3000:]
    assert set(run.rules) == RULES
    assert not unverified(run), unverified(run)


#: Each fault on a variant of its own (0 to 3 in turn) in-process, and on the
#: reference one live; JOBCONTRACTS_FAULT_VARIANTS=0,1,2,3 runs each on all four.
SWEPT = os.environ.get("JOBCONTRACTS_FAULT_VARIANTS")
FAULT_CASES = ([(fault, int(v)) for fault in sorted(FAULTS) for v in SWEPT.split(",")] if SWEPT
               else [(fault, i % 4) for i, fault in enumerate(sorted(FAULTS))])


@pytest.mark.parametrize(("fault", "variant"), FAULT_CASES,
                         ids=[f"{fault}-variant{v}" for fault, v in FAULT_CASES])
def test_fault_is_caught_by_its_rules(tmp_path, fault, variant):
    run = run_suite(tmp_path, "--api", "jobs", "--sim-fault", fault,
                    "--sim-variant", str(variant),
                    "--hypothesis-profile", "jobcontracts-selftest", f"--hypothesis-seed={SEED}")
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == FAULTS[fault].rules, run.output[-3000:]
    assert f"--sim-fault {fault}" in run.output


def test_conforming_server_passes_the_issue_budget_live(tmp_path):
    """The issue's command: every rule verified, the rate rule by the contract's
    own live probe (`live_rate_limit_probe`: reads and one PATCH, nothing paid)."""
    # Slower than SPEED: at 10x the limiter refills a token every 20 ms, so the
    # PATCH sent right after a refused read often finds one (then the probe
    # honestly leaves JOB-RATE-1 partial); at 4x, as at a deployment's pace,
    # it meets the refusal.
    with served("jobs", speed=4, seed=11) as url:
        run = run_suite(tmp_path, *BUDGET, env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert not unverified(run), unverified(run)
    assert "paid generation(s) (budget 12)" in run.output
    spent = int(run.output.split(" paid generation(s) (budget 12)")[0].rsplit(", ", 1)[-1])
    assert 7 <= spent <= 12, run.output[-2000:]


def test_rate_limit_probe_verifies_the_rate_rule_live(tmp_path):
    with served("jobs", speed=RATE_SPEED, seed=13) as url:
        run = run_suite(tmp_path, *RATE, env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert run.with_status("verified") >= RATE_RULES, unverified(run)


def test_budget_zero_reaches_no_paid_rule_and_says_why(tmp_path):
    # At 4x, as for the issue's budget above. On a loaded machine the rate
    # probe's PATCH after a refused read may still find a token (the scaled
    # clock refills the bucket while the machine is slow): JOB-RATE-1 is then
    # honestly partial, and saying so is all this test asks of the rate rules.
    with served("jobs", speed=4) as url:
        run = run_suite(tmp_path, *BUDGET, "--max-generations", "0", env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert run.with_status("not_reached") == PAID_RULES, unverified(run)
    for rule_id in PAID_RULES:
        assert "--max-generations > 0" in run.rules[rule_id]["detail"], run.rules[rule_id]
    left = unverified(run)
    assert PAID_RULES <= set(left) <= PAID_RULES | RATE_RULES, left
    for rule_id in set(left) - PAID_RULES:
        assert "--rate-limit-probe" in left[rule_id], left[rule_id]
    assert "0 paid generation(s) (budget 0)" in run.output


def test_rate_limit_probe_zero_leaves_the_rate_rule_unverified_live(tmp_path):
    with served("jobs", speed=SPEED) as url:
        run = run_suite(tmp_path, *BUDGET, "--rate-limit-probe", "0", "-k", "rate_limits",
                        env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert set(unverified(run)) >= RATE_RULES, unverified(run)
    for rule_id in RATE_RULES:
        assert "--rate-limit-probe" in run.rules[rule_id]["detail"], run.rules[rule_id]


@pytest.mark.skipif(not LIVE_FAULTS, reason="JOBCONTRACTS_JOBS_LIVE_FAULTS=0")
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught_live(tmp_path, fault):
    rate = bool(FAULTS[fault].rules & RATE_RULES)
    with served("jobs", speed=RATE_SPEED if rate else SPEED, faults=[fault]) as url:
        run = run_suite(tmp_path, *(RATE if rate else FAST), "--hypothesis-profile",
                        "jobcontracts-live-selftest", env=live(url))
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == FAULTS[fault].rules, run.output[-3000:]


@pytest.mark.parametrize("fault", ["no-file-part-accepted", "file-size-wrong"])
def test_schemathesis_fuzzes_the_multipart_upload(tmp_path, fault):
    """The upload's form is in the exported document: schemathesis alone,
    sending multipart cases, finds both ways an upload can be wrong."""
    run = run_suite(tmp_path, "--api", "jobs", "-k", "test_exported_upload_form",
                    "--sim-fault", fault, f"--hypothesis-seed={SEED}")
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == {"JOB-FILE-1"}, run.output[-3000:]

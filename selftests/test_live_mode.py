"""The suite in live mode, as a team points it at a deployment: over real HTTP
against `jobcontracts serve` on loopback, within budgets."""

from __future__ import annotations

import httpx
import pytest

from jobcontracts.loader import load_contract
from jobcontracts.oracles.batches import ANSWERED
from jobcontracts.serve import served
from jobcontracts.sims import interrogation as ia_sim
from jobcontracts.sims import pos as pos_sim
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


#: The reference server (variant 0) within the budgets these tests are about;
#: test_served_variants.py meets the other variants with budgets that reach
#: every rule.
VARIANTS = [0]


def variant_seed(variant: int) -> str:
    """A hypothesis seed of its own for each served variant."""
    return f"--hypothesis-seed={1000 + 37 * variant}"


def live(url: str) -> dict[str, str]:
    return {"SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": DEFAULT_API_KEY}


@pytest.mark.parametrize("variant", VARIANTS)
def test_conforming_server_passes_with_one_paid_generation(tmp_path, variant):
    with served("specstep", speed=600, seed=11, variant=variant) as url:
        run = run_suite(tmp_path, *FAST, variant_seed(variant), "-v", env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    # At speed 600 a turn job lasts a few milliseconds, and a generation resumes
    # a few after its answers: a retry may not catch the job in flight (then
    # SS-IDEM-3 is honestly not, or partly, reached), nor a repeated batch the
    # pause (then SS-CLAR-4 is partial, naming that occasion untried).
    in_flight = {"SS-IDEM-3", "SS-CLAR-4"} - run.with_status("verified")
    if "SS-CLAR-4" in in_flight:
        assert run.rules["SS-CLAR-4"]["status"] == "partial", run.rules["SS-CLAR-4"]
        assert f"untried: {ANSWERED}" in run.rules["SS-CLAR-4"]["detail"], run.rules["SS-CLAR-4"]
    # One paid generation tries one of the six review profiles: SS-GEN-1 is
    # honestly partial, naming the untried ones and the option that tries them.
    assert run.with_status("partial") - in_flight == {"SS-GEN-1"}, run.rules
    assert "verified for 1 of 6 review_profile values" in run.rules["SS-GEN-1"]["detail"]
    assert "raise --max-generations to at least 6" in run.rules["SS-GEN-1"]["detail"]
    assert run.with_status("verified") == set(run.rules) - RATE_RULES - in_flight - {"SS-GEN-1"}
    assert run.with_status("not_reached") - in_flight == RATE_RULES
    assert "1 paid generation(s) (budget 1)" in run.output
    assert "jobcontracts budget specstep: 2000 requests, 1 paid operation(s)" in run.output
    assert "no shrinking" in run.output


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
          # A job reads completed for 30 simulated s, then running again: at
          # speed 600 a loaded machine's poll (30 simulated s) may miss the first.
          "turn-unfinishes": (60, 0.05),
          # A turn lasts 2-8 simulated s, a few ms at speed 600: a keyed retry
          # may come after it ends, and then SS-IDEM-3's replay is not tried.
          "replay-while-running": (60, 0.05),
          "requeued-after-pause": (20, 0.15),
          # The repeat batch must land before the 10 s tick that resumes the run.
          "answers-accepted-twice": (20, 0.15)}
MORE_BUDGET = {"ordinal-rejected": 8}  # the full run's generation, then each profile


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught_live(tmp_path, fault):
    rules = FAULTS[fault].rules
    rate = bool(rules & RATE_RULES)
    speed, poll = (2, 0.05) if rate else SLOWER.get(fault, (600, 0.05))
    # A Fast generation is ~300 simulated seconds: 0.5 s at speed 600, 15 s at 20.
    # The deadline also caps the client's waits on 429s: 10 simulated seconds
    # span the contract's five tries at Retry-After 1, and a key that stays
    # throttled no longer holds the run for a minute (5 s wall at speed 2).
    deadline = "5" if speed == 600 else "10" if rate else "60"
    args = [*(RATE if rate else FAST), "--hypothesis-profile", "jobcontracts-live-selftest",
            "--live-deadline", deadline, "--poll-interval", str(poll)]
    if fault in MORE_BUDGET:
        args += ["--max-generations", str(MORE_BUDGET[fault])]
    with served("specstep", speed=speed, faults=[fault]) as url:
        run = run_suite(tmp_path, *args, env=live(url))
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == rules, run.output[-3000:]


# ---- POS adapter scripts ----------------------------------------------------------------

#: At speed 100 a poll every 0.04 wall seconds is one every 4 simulated seconds,
#: under the shortest stage a fault shows in; the one paid job ("clarify flaky")
#: ends within about 3 simulated minutes, 2 wall seconds.
POS_FAST = ["--api", "pos", "--max-generations", "1", "--poll-interval", "0.04",
            "--live-deadline", "20", "--hypothesis-profile", "jobcontracts-live-selftest"]
#: Shown only on a job whose every attempt fails, once it has ended: the `fail`
#: lifecycle, after the keyless-generate probes, the full job and one kept back.
POS_MORE_BUDGET = {"retries-off-by-one": 5}


def pos_live(url: str) -> dict[str, str]:
    return {"POS_API_URL": url, "POS_API_KEY": pos_sim.DEFAULT_API_KEY}


@pytest.mark.parametrize("variant", VARIANTS)
def test_conforming_pos_server_passes_with_one_paid_job(tmp_path, variant):
    with served("pos", speed=100, seed=11, variant=variant) as url:
        run = run_suite(tmp_path, *POS_FAST, variant_seed(variant), env=pos_live(url))
    assert run.returncode == 0, run.output[-3000:]
    assert run.with_status("verified") == set(run.rules), run.rules
    assert len(run.rules) == 10
    assert "1 paid generation(s) (budget 1)" in run.output


def test_existing_pos_jobs_are_judged_read_only(tmp_path):
    """With no budget, --pos-job-id jobs are polled and judged; nothing is
    created and no question answered."""
    with served("pos", speed=100, seed=5) as url:
        client = httpx.Client(base_url=url, headers={"X-Api-Key": pos_sim.DEFAULT_API_KEY})
        with client:
            job_id = str(client.post("/api/v1/adapter-scripts/generate",
                                     json={"provider": "Square", "topic": "refunds flaky"})
                         .json()["jobId"])
            run = run_suite(tmp_path, *POS_FAST, "--max-generations", "0",
                            "--pos-job-id", job_id, env=pos_live(url))
            job = client.get(f"/api/v1/adapter-scripts/jobs/{job_id}").json()["job"]
    assert run.returncode == 0, run.output[-3000:]
    # The job has ended by the time the suite starts: only what a finished job shows.
    assert {"POS-PROJ-3", "POS-PROJ-4"} <= run.with_status("verified"), run.rules
    assert "--max-generations" in run.rules["POS-RESP-1"]["detail"]
    assert "0 paid generation(s) (budget 0)" in run.output
    assert job["status"] == "completed" and job["humanResponse"] == ""


@pytest.mark.parametrize("fault", sorted(pos_sim.FAULTS))
def test_pos_fault_is_caught_live(tmp_path, fault):
    rules = pos_sim.FAULTS[fault].rules
    budget = str(POS_MORE_BUDGET.get(fault, 1))
    with served("pos", speed=100, faults=[fault]) as url:
        run = run_suite(tmp_path, *POS_FAST, "--max-generations", budget, env=pos_live(url))
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == rules, run.output[-3000:]


# ---- Interrogation Agent ----------------------------------------------------------------

#: At speed 50 a run (35-150 simulated s) streams in 1-3 wall seconds; three
#: paid runs reach every IA rule (a completed one, a failing one, a limit probe).
IA_FAST = ["--api", "interrogation", "--max-generations", "3", "--poll-interval", "0.5",
           "--hypothesis-profile", "jobcontracts-live-selftest"]
#: The rejected catalog id is the last of the catalog's entries, each one run.
#: Both stakeholder fields (IA-REQ-3): a run after every catalog id and the two streams.
IA_MORE_BUDGET = {"catalog-id-rejected": 8, "stakeholder-id-wins": 8}


def ia_live(url: str) -> dict[str, str]:
    return {"INTERROGATION_API_URL": url}


@pytest.mark.parametrize("variant", VARIANTS)
def test_conforming_interrogation_server_passes_with_three_paid_runs(tmp_path, variant):
    with served("interrogation", speed=50, seed=3, variant=variant) as url:
        run = run_suite(tmp_path, *IA_FAST, variant_seed(variant), env=ia_live(url))
    assert run.returncode == 0, run.output[-3000:]
    # Three paid runs try only some catalog ids: IA-CAT-1 is honestly partial.
    assert run.with_status("partial") == {"IA-CAT-1"}, run.rules
    detail = run.rules["IA-CAT-1"]["detail"]
    assert "stakeholder_id values; untried:" in detail and "--max-generations" in detail, detail
    # The request with both stakeholder fields is paid from budget beyond the
    # catalog's and the streams': honestly not reached at three, with the option.
    assert run.with_status("not_reached") == {"IA-REQ-3"}, run.rules
    assert "--max-generations" in run.rules["IA-REQ-3"]["detail"]
    assert run.with_status("verified") == set(run.rules) - {"IA-CAT-1", "IA-REQ-3"}, run.rules
    assert len(run.rules) == 17


@pytest.mark.parametrize("fault", sorted(ia_sim.FAULTS))
def test_interrogation_fault_is_caught_live(tmp_path, fault):
    rules = ia_sim.FAULTS[fault].rules
    budget = str(IA_MORE_BUDGET.get(fault, 3))
    with served("interrogation", speed=50, faults=[fault]) as url:
        run = run_suite(tmp_path, *IA_FAST, "--max-generations", budget, env=ia_live(url))
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == rules, run.output[-3000:]

"""The regression diff against served simulators: every drift is named, and
two conforming deployments report nothing.

Each API's baseline is recorded twice against one conforming server; each
candidate once against a second server with the same seed (two deployments
of one release hold the same data), the drifts applied. CI records a subset
of each suite and one candidate with all of an API's drifts at once (each
drift must be named, and, but where a drift retells the whole run, nothing
else), runs `jobcontracts compare` on two conforming SpecStep servers, and
records a conforming jobs candidate against the jobs baseline (nothing
reported). Drifts that need 429s (a longer `Retry-After`) get a recording of
their own, on a slower limiter.
JOBCONTRACTS_DIFF_SWEEP=1 adds, with the whole suite, one candidate per drift
and conforming candidates of every API over 20 seeds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobcontracts.cli import main
from jobcontracts.diff.judge import Difference
from jobcontracts.diff.run import diff_recordings
from jobcontracts.serve import served
from jobcontracts.sims import jobs as jobs_sim
from jobcontracts.sims import pos as pos_sim
from jobcontracts.sims.drift import drifts_of
from jobcontracts.sims.specstep import DEFAULT_API_KEY

from .suite_runner import run_suite

SWEEP = os.environ.get("JOBCONTRACTS_DIFF_SWEEP") == "1"
sweep_only = pytest.mark.skipif(not SWEEP, reason="set JOBCONTRACTS_DIFF_SWEEP=1")

Expect = Callable[[Difference], bool]


@dataclass(frozen=True)
class Api:
    name: str
    serve: dict[str, object]
    args: tuple[str, ...]
    """What each recording runs (budgets, pace)."""
    subset: str | None
    """`-k` for CI: the tests that show every drift (None: all)."""
    env: Callable[[str], dict[str, str]]
    expect: dict[str, Expect]
    """Drift → a difference that names it."""
    apart: tuple[str, ...] = ()
    """Drifts with a recording of their own (`args_apart`), not in the combined candidate."""
    args_apart: tuple[str, ...] = ()
    serve_apart: dict[str, object] = field(default_factory=dict)
    unseen: tuple[str, ...] = ()
    """Drifts the suite's traffic cannot show (it sends no such request)."""
    strict: bool = True
    """Is every difference a drift's own? Not where a drift retells the whole
    run (fewer messages: every transcript is shorter)."""


def _is(kind: str, text: str = "", candidate: str = "") -> Expect:
    """A difference of this kind whose endpoint or field holds `text` (and
    whose candidate value holds `candidate`)."""
    return lambda d: (d.kind.startswith(kind) and text in f"{d.endpoint} {d.field}"
                      and candidate in d.candidate)


def _either(*expects: Expect) -> Expect:
    """A difference any of these names (a drift seen in more than one way)."""
    return lambda d: any(expect(d) for expect in expects)


SPECSTEP = Api(
    "specstep", {"speed": 600, "seed": 11},
    ("--api", "specstep", "--max-generations", "1", "--poll-interval", "0.05",
     "--live-deadline", "10", "--contract-setting", "clarification_resume_seconds=2",
     "--hypothesis-profile", "jobcontracts-live-selftest"),
    "full_generation or awkward_messages or interview_lifecycle or invalid_keys or "
    "(schemathesis and turns)",
    lambda url: {"SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": DEFAULT_API_KEY},
    {"error-code-renamed": _is("vocab", "error.code", "VALIDATION_FAILED"),
     "status-key-added": _is("key", "queue_region"),
     "forecast-always-null": _is("type", "estimated_", "null"),
     "slow-polls": _is("latency", "GET /v1/"),
     "retry-after-longer": _is("retry-after", "429"),
     "extra-question": _is("count", "len(clarifications)"),
     "replies-cut-short": _is("text-length", "turns[].content"),
     "empty-message-refused": _is("status", "/turns", "422")},
    # A 429 costs its Retry-After in wall time: a small bucket (variant 26
    # holds 9 tokens) at speed 2, and a burst just past it.
    apart=("retry-after-longer",),
    args_apart=("--api", "specstep", "--rate-limit-probe", "22", "--poll-interval", "0.05",
                "--hypothesis-profile", "jobcontracts-live-selftest",
                "-k", "test_reads_are_throttled_lawfully"),
    serve_apart={"speed": 2, "seed": 11, "variant": 26},
)
POS = Api(
    "pos", {"speed": 100, "seed": 11},
    ("--api", "pos", "--max-generations", "1", "--poll-interval", "0.04", "--live-deadline", "20",
     "--hypothesis-profile", "jobcontracts-live-selftest"),
    "full_job or unknown_job",
    lambda url: {"POS_API_URL": url, "POS_API_KEY": pos_sim.DEFAULT_API_KEY},
    {"invalid-body-422": _is("status", "/respond", "422"),
     "error-field-blank": _is("vocab", "error.field"),
     "job-key-added": _is("key", "queueRegion"),
     "log-messages-cut-short": _is("text-length", "job.logs[].message")},
    # Live, the suite sends POS no body that breaks the schema (only the
    # published document's examples): a drift no compare of it can see.
    unseen=("invalid-body-422",),
)
INTERROGATION = Api(
    "interrogation", {"speed": 50, "seed": 3},
    ("--api", "interrogation", "--max-generations", "3", "--poll-interval", "0.5",
     "--hypothesis-profile", "jobcontracts-live-selftest"),
    "completed_run or invalid_request_is_refused",
    lambda url: {"INTERROGATION_API_URL": url},
    {"more-hypotheses": _is("count", "hypotheses"),
     "fewer-messages": _is("count", "message"),
     "error-shape-detail": _is("key", "detail"),
     "no-updates": lambda d: "agent.update" in f"{d.field} {d.baseline} {d.why}"},
    strict=False,
)
JOBS = Api(
    # Ten times a deployment's pace: a goal job lasts about a second of wall
    # time and a 0.05 s poll (0.5 simulated s) still sees every stage. No
    # rate-limit probe here: at this pace the limiter may refill between a
    # refused read and the PATCH after it (a 429 or a 200: timing, not
    # behaviour); the probe runs apart, served slower.
    "jobs", {"speed": 10, "seed": 11},
    ("--api", "jobs", "--max-generations", "12", "--poll-interval", "0.05",
     "--live-deadline", "20", "--rate-limit-probe", "0",
     "--hypothesis-profile", "jobcontracts-live-selftest"),
    # `None`: the convert lifecycle's plain case, not its fail and corrupt ones.
    "(test_convert_lifecycle and None) or plain_goal_completes or "
    "(goals and refused_creates) or patch_with_current",
    lambda url: {"JOBS_API_URL": url, "JOBS_API_KEY": jobs_sim.DEFAULT_API_KEY},
    {"error-code-upper": lambda d: (_is("vocab", "error.code")(d)
                                    and d.candidate == d.candidate.upper()),
     "workflow-key-added": _is("key", "region"),
     "estimate-always-null": _is("type", "estimated_duration", "null"),
     "slow-polls": _is("latency", "GET /v1/"),
     "retry-after-longer": _is("retry-after", "429"),
     "transitions-announced": lambda d: "orchestration_transition" in f"{d.field} {d.candidate}",
     "agent-messages-cut-short": _is("text-length", "agent_message"),
     # One state fewer: the create's status, and one status event fewer. And
     # a shorter wait before analysis, the span in which agent_message is
     # null: polls made 150 ms slower (slow-polls) may all miss it, once in CI
     # on a loaded machine.
     "created-at-once": _either(_is("vocab", "status", "created"),
                                _is("count", "events status per stream"),
                                lambda d: (_is("type", "agent_message")(d)
                                           and "null" not in d.candidate.split(", ")))},
    # The contract's own probe (`live_rate_limit_probe`: reads of one
    # workflow, then one PATCH) on a slow limiter (variant 26: 20 tokens,
    # 2 a second, no padding) at twice a deployment's pace: a token every
    # 250 ms, so the PATCH right after a refused read meets the 429 too.
    apart=("retry-after-longer",),
    args_apart=("--api", "jobs", "-k", "rate_limits", "--rate-limit-probe", "60",
                "--hypothesis-profile", "jobcontracts-live-selftest"),
    serve_apart={"speed": 2, "seed": 11, "variant": 26},
)
APIS = {a.name: a for a in (SPECSTEP, POS, INTERROGATION, JOBS)}


def record(tmp: Path, api: Api, url: str, name: str, *, seed: int = 7,
           apart: bool = False, subset: bool = True) -> Path:
    directory = tmp / name
    args = api.args_apart if apart else api.args
    if subset and not apart and api.subset:
        args = (*args, "-k", api.subset)
    (tmp / f"{name}-run").mkdir(parents=True)
    run = run_suite(tmp / f"{name}-run", *args, f"--hypothesis-seed={seed}", "--record",
                    str(directory), env=api.env(url))
    # The suite passes against every drift: a drift is lawful.
    assert run.returncode == 0, run.output[-3000:]
    return directory


@dataclass(frozen=True)
class Baseline:
    first: Path
    again: Path


def baseline(tmp: Path, api: Api, *, seed: int = 7, apart: bool = False,
             subset: bool = True) -> Baseline:
    options = api.serve_apart if apart else api.serve
    (tmp / "runs").mkdir(parents=True, exist_ok=True)
    with served(api.name, **options) as url:
        return Baseline(record(tmp / "runs", api, url, "baseline", seed=seed, apart=apart,
                               subset=subset),
                        record(tmp / "runs", api, url, "baseline-again", seed=seed, apart=apart,
                               subset=subset))


def candidate(tmp: Path, api: Api, drifts: list[str], name: str, *, seed: int = 7,
              apart: bool = False, subset: bool = True) -> Path:
    options = api.serve_apart if apart else api.serve
    with served(api.name, drifts=drifts, **options) as url:
        return record(tmp / "runs", api, url, name, seed=seed, apart=apart, subset=subset)


def differences(base: Baseline, path: Path) -> list[Difference]:
    result = diff_recordings(base.first, path, base.again)
    assert result.seconds < 2.0 * 5  # a loaded CI machine; bench_diff.py measures it
    assert not result.violations, result.violations
    return result.differences


def explain(found: list[Difference], drifts: list[str], api: Api) -> None:
    """Each drift named, and nothing reported that no drift explains."""
    shown = "\n".join(d.why for d in found)
    for drift in drifts:
        assert any(api.expect[drift](d) for d in found), f"{drift} not named in:\n{shown}"
    unexplained = [d.why for d in found if not any(api.expect[x](d) for x in drifts)]
    assert not unexplained or not api.strict, "\n".join(unexplained)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Baseline]]:
    """Each API's baseline, recorded once for the module."""
    class Lazy(dict[str, Baseline]):
        def __missing__(self, name: str) -> Baseline:
            self[name] = baseline(tmp_path_factory.mktemp(name), APIS[name])
            return self[name]

    yield Lazy()


def test_every_api_has_the_drifts_the_selftests_name() -> None:
    for api in APIS.values():
        assert set(api.expect) == set(drifts_of(api.name)), api.name


@pytest.mark.parametrize("name", sorted(APIS))
def test_all_drifts_at_once_are_each_named_and_nothing_else(name, recorded, tmp_path):
    api = APIS[name]
    together = [d for d in sorted(api.expect) if d not in (*api.apart, *api.unseen)]
    base = recorded[name]
    found = differences(base, candidate(base.first.parent.parent, api, together,
                                        f"all-drifts-{tmp_path.name}"))
    explain(found, together, api)


@pytest.mark.parametrize("name", [a.name for a in APIS.values() if a.apart])
def test_a_longer_retry_after_is_named(name, tmp_path):
    api = APIS[name]
    base = baseline(tmp_path, api, apart=True)
    found = differences(base, candidate(tmp_path, api, list(api.apart), "drifted",
                                        apart=True))
    explain(found, list(api.apart), api)


def test_two_conforming_jobs_deployments_report_nothing(recorded, tmp_path):
    """The jobs baseline against a second conforming server, same seed: the
    run-to-run differences (ids, timestamps, poll counts, event timing) are
    all learned as noise."""
    base = recorded["jobs"]
    found = differences(base, candidate(base.first.parent.parent, JOBS, [],
                                        f"conforming-{tmp_path.name}"))
    assert not found, "\n".join(d.why for d in found)


def test_compare_exits_0_for_two_conforming_deployments(tmp_path, capsys):
    """The one command a pipeline adds, end to end (three pytest subprocesses)."""
    found = _compare(tmp_path, [], capsys)
    assert found["code"] == 0, found["out"]
    assert found["report"]["differences"] == [] and found["report"]["violations"] == []
    assert "jobcontracts diff: 0 difference(s)" in found["out"]


@sweep_only
def test_compare_exits_1_naming_a_drift(tmp_path, capsys):
    found = _compare(tmp_path, ["status-key-added"], capsys)
    assert found["code"] == 1, found["out"]
    differences = found["report"]["differences"]
    assert {d["field"] for d in differences} == {"queue_region"}, found["out"]
    assert {"kind", "endpoint", "field", "baseline", "candidate"} <= set(differences[0])
    assert "DIFF key GET /v1/generations/{generation_id} 200 queue_region" in found["out"]


def _compare(tmp_path: Path, drifts: list[str], capsys: pytest.CaptureFixture[str]
             ) -> dict[str, object]:
    api = SPECSTEP
    keys = ["--baseline-key", DEFAULT_API_KEY, "--candidate-key", DEFAULT_API_KEY]
    with served("specstep", **api.serve) as a, \
            served("specstep", drifts=drifts, **api.serve) as b:
        code = main(["compare", "--api", "specstep", "--baseline-url", a, "--candidate-url", b,
                     *keys, "--seed", "7", "--report", str(tmp_path / "diff.json"),
                     "--record-dir", str(tmp_path / "runs"), "--", *api.args[2:],
                     "-k", "full_generation or invalid_keys"])
    return {"code": code, "out": capsys.readouterr().out,
            "report": json.loads((tmp_path / "diff.json").read_text())}


# ---------------------------------------------------------------- sweeps (by hand)


@sweep_only
@pytest.mark.parametrize("drift", [f"{a.name}:{d}" for a in APIS.values() for d in a.expect
                                   if d not in a.unseen])
def test_each_drift_alone_is_named_by_the_whole_suite(drift, tmp_path):
    name, _, one = drift.partition(":")
    api = APIS[name]
    apart = one in api.apart
    base = baseline(tmp_path, api, apart=apart, subset=False)
    found = differences(base, candidate(tmp_path, api, [one], "drifted", apart=apart,
                                        subset=False))
    explain(found, [one], api)


@sweep_only
@pytest.mark.parametrize("seed", range(1, 21))
@pytest.mark.parametrize("name", sorted(APIS))
def test_conforming_deployments_report_nothing_over_seeds(name, seed, tmp_path):
    api = APIS[name]
    base = baseline(tmp_path, api, seed=seed, subset=False)
    found = differences(base, candidate(tmp_path, api, [], "conforming", seed=seed,
                                        subset=False))
    assert not found, "\n".join(d.why for d in found)

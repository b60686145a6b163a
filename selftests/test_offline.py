"""Recorded traffic, as a team uses it: `pytest --record` against a server,
`jobcontracts verify` offline, `pytest --replay` as a regression fixture; and
no secret on disk in anything the project writes or keeps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobcontracts.recordings.scrub import REDACTED, find_secrets
from jobcontracts.serve import served

from .suite_runner import ROOT, run_suite

FIXTURES = ROOT / "fixtures"
KEY = "sf_live_a8F3kQ9zX2mN7pR4"
#: One paid generation over HTTP at speed 600 (see test_live_mode.py).
FAST = ["--api", "specstep", "--max-generations", "1", "--poll-interval", "0.05",
        "--live-deadline", "10", "--contract-setting", "clarification_resume_seconds=2"]


def verify(*args: str | Path, contract: str = "specstep") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobcontracts.cli", "verify", *map(str, args),
                           "--contract", contract], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


def violated(output: str) -> set[str]:
    return {line.split()[1].rstrip(":") for line in output.splitlines()
            if line.startswith("  violated ")}


def secrets_in(*roots: Path, keys: list[str]) -> dict[str, list[str]]:
    leaks = {}
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if path.is_file():
                found = find_secrets(path.read_text(encoding="utf-8", errors="replace"), keys)
                if found:
                    leaks[str(path)] = found[:3]
    return leaks


def test_recorded_fixtures_verify_clean_offline():
    done = verify(FIXTURES / "cassettes")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 violated" in done.stdout


@pytest.mark.parametrize("tampered", sorted((FIXTURES / "tampered").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_each_tampered_fixture_fails_for_its_rule(tampered):
    done = verify(tampered, contract="jobs" if tampered.name.startswith("JOB-") else "specstep")
    assert done.returncode == 1, done.stdout[-3000:]
    assert violated(done.stdout) == {tampered.name.split(".")[0]}, done.stdout[-3000:]
    assert "FAIL " in done.stdout and "#" in done.stdout  # the exchanges are shown


def test_the_har_fixture_verifies_like_the_cassettes_it_came_from():
    done = verify(FIXTURES / "har" / "specstep-session.har")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 trace(s), 153 exchanges" in done.stdout


@pytest.mark.parametrize("recording", ["jobs", "har/jobs-events.har"])
def test_the_jobs_event_streams_verify_offline(tmp_path, recording):
    """WebSocket messages ride in the connection's exchange in a cassette and
    in `_webSocketMessages` in HAR; either way the stream rules are judged."""
    report = tmp_path / "report.json"
    done = verify(FIXTURES / recording, "--report", report, contract="jobs")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 violated" in done.stdout
    status = {rule["id"]: rule["status"] for rule in json.loads(report.read_text())["rules"]}
    assert {status[f"JOB-EVT-{n}"] for n in (1, 2, 3, 4)} == {"verified"}, status


def test_recorded_fixtures_replay_as_a_regression_suite(tmp_path):
    run = run_suite(tmp_path, "--api", "specstep", "--replay", str(FIXTURES / "cassettes"))
    assert run.returncode == 0, run.output[-3000:]
    assert "no cassette was recorded for this test" in run.output
    assert len(run.with_status("verified")) >= 30, run.rules


def test_an_unreadable_file_is_reported_and_the_others_still_judged(tmp_path):
    bad = tmp_path / "broken.har"
    bad.write_text('{"log": {"entries": [{"request"')
    done = verify(bad, FIXTURES / "tampered" / "SS-RATE-1.429-without-retry-after.yaml")
    assert done.returncode == 2
    assert f"ERROR {bad}: not valid JSON" in done.stdout
    assert violated(done.stdout) == {"SS-RATE-1"}


@pytest.mark.parametrize(("recordings", "contract"), [
    (["cassettes"], "specstep"), (["har/specstep-session.har"], "specstep"),
    ([f"tampered/{p.name}" for p in sorted((FIXTURES / "tampered").glob("SS-*.yaml"))],
     "specstep"),
    (["har/specstep-session.har", "cut.har", "tampered/SS-PROJ-3.progress-regresses.yaml"],
     "specstep"),
    (["jobs", "har/jobs-events.har", *[f"tampered/{p.name}" for p in
                                       sorted((FIXTURES / "tampered").glob("JOB-*.yaml"))]],
     "jobs"),
], ids=["cassettes", "har", "tampered", "cut-short", "jobs-websockets"])
def test_workers_judge_as_one_process_does(tmp_path, recordings, contract):
    """`--jobs 3` forks workers that judge segments while the file is read: the
    failures, the tally and the exit status are a sequential run's, in its
    order, also when a file stops making sense after some of its segments."""
    whole = (FIXTURES / "har" / "specstep-session.har").read_text()
    (tmp_path / "cut.har").write_text(whole[: int(len(whole) * 0.8)])
    paths = [FIXTURES / r if r != "cut.har" else tmp_path / r for r in recordings]
    alone = verify(*paths, "--jobs", "1", contract=contract)
    shared = verify(*paths, "--jobs", "3", contract=contract)
    assert shared.stdout == alone.stdout
    assert shared.returncode == alone.returncode, shared.stderr
    if "cut.har" in recordings:
        # The cut file's first page (30 exchanges) is judged before its error.
        assert alone.returncode == 2 and "ERROR " in alone.stdout
        assert "3 file(s), 4 trace(s), 306 exchanges" in alone.stdout, alone.stdout


def test_workers_parse_a_long_cassette_as_one_process_does(tmp_path):
    """Interactions are parsed by the workers a batch at a time: a broken one
    deep in a long cassette is reported at its line, after the traces before
    it were judged, exactly as one process reports it."""
    text = (FIXTURES / "cassettes" / "specstep" / "tests" / "specstep" / "test_generations"
            / "test_full_generation.yaml").read_text()
    head, rest = text.split("interactions:\n", 1)
    items, tail = rest.split("\nversion:", 1)
    copies = [items.replace("    trace: 1\n", f"    trace: {n}\n") for n in range(1, 6)]
    long = head + "interactions:\n" + "".join(c + "\n" for c in copies) + "version:" + tail
    at = [i for i in range(len(long)) if long.startswith("      code: 200\n", i)][450]
    broken = tmp_path / "broken.yaml"
    broken.write_text(long[:at] + "      code: [200\n" + long[at + 16:])
    (tmp_path / "whole.yaml").write_text(long)
    for path, status in ((tmp_path / "whole.yaml", 0), (broken, 2)):
        alone, shared = verify(path, "--jobs", "1"), verify(path, "--jobs", "3")
        assert shared.stdout == alone.stdout and shared.returncode == alone.returncode == status
    assert f"ERROR {broken}:" in alone.stdout and "not YAML" in alone.stdout, alone.stdout
    assert "4 trace(s), 492 exchanges" in alone.stdout, alone.stdout  # the 5th is cut short


def test_a_live_run_recorded_verifies_offline_and_keeps_no_secret(tmp_path):
    record = tmp_path / "cassettes"
    junit = tmp_path / "junit.xml"
    with served("specstep", speed=600, seed=5, api_keys=[KEY]) as url:
        run = run_suite(tmp_path, *FAST, "--record", str(record), "--junitxml", str(junit),
                        env={"SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": KEY})
    assert run.returncode == 0, run.output[-3000:]
    done = verify(record)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 violated" in done.stdout
    assert secrets_in(record, junit, tmp_path / "report.json", keys=[KEY]) == {}
    assert REDACTED in next(record.rglob("test_full_generation.yaml")).read_text()


def test_a_faulty_server_recorded_is_named_offline_by_the_faults_rule(tmp_path):
    record = tmp_path / "cassettes"
    with served("specstep", speed=600, faults=["turn-after-complete"], api_keys=[KEY]) as url:
        run = run_suite(tmp_path, *FAST, "-k", "interview_lifecycle", "--record", str(record),
                        env={"SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": KEY})
    assert run.returncode == 1
    done = verify(record)
    assert done.returncode == 1, done.stdout[-3000:]
    assert violated(done.stdout) == {"SS-INT-3"}


def test_a_failure_reported_live_carries_no_secret(tmp_path):
    junit = tmp_path / "junit.xml"
    with served("specstep", speed=600, faults=["package-needs-key"], api_keys=[KEY]) as url:
        run = run_suite(tmp_path, *FAST, "-k", "full_generation", "--junitxml", str(junit),
                        env={"SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": KEY})
    assert run.returncode == 1 and "SS-PKG-1" in run.output
    assert secrets_in(junit, tmp_path / "report.json", keys=[KEY]) == {}
    assert find_secrets(run.output, [KEY]) == []


def test_nothing_the_project_keeps_holds_a_secret():
    keys = [KEY, os.environ.get("SPECSTEP_API_KEY", "")]
    kept = [FIXTURES, ROOT / "contracts", ROOT / "README.md"]
    assert secrets_in(*kept, keys=[k for k in keys if k]) == {}

"""Reports for people and for CI: `--contract-report PATH.html` read in headless
Chromium (the violation, the values that broke the rule, the timeline), the
same page after `-n 2`, secrets scrubbed from it, and each test's rules and
verdicts as JUnit properties."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest
import yaml

from jobcontracts.evidence import Evidence, TestVerdicts
from jobcontracts.html_report import render
from jobcontracts.oracles.judge import RuleOutcome
from jobcontracts.oracles.registry import Violation
from jobcontracts.recordings.scrub import Scrubber, find_secrets
from jobcontracts.trace import Exchange, Trace

from .suite_runner import ROOT, run_suite
from .test_browser_eventsource import FLAGS, chromium_or_skip

FAULT = ["--api", "specstep", "--sim-fault", "progress-regresses",
         "--hypothesis-profile", "jobcontracts-selftest", "--hypothesis-seed=0"]
WENT_DOWN = re.compile(r"progress_percent went down from (\d+) to (\d+)")
#: Any attribute or CSS that would make the page fetch something.
FETCHES = re.compile(r"""\b(?:src|href|srcset|poster)\s*=\s*["']?\s*(?:https?:)?//"""
                     r"""|<script|<link|<iframe|<object|<embed|@import|url\(""", re.IGNORECASE)


def test_the_html_report_shows_the_violation_in_a_browser(tmp_path: Path) -> None:
    browser = chromium_or_skip()
    page = tmp_path / "report.html"
    run = run_suite(tmp_path, *FAULT, "--contract-report", str(page))
    assert run.returncode == 1, run.output[-3000:]
    html = page.read_text(encoding="utf-8")
    assert not FETCHES.search(html), FETCHES.search(html)
    assert "<svg" in html

    command = [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*command, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=False).stdout
    card = dom[dom.index('id="violation-SS-PROJ-3"'):]
    card = card[:card.index("</article>")]
    assert ">violated<" in card and "SS-PROJ-3" in card
    before, after = map(int, WENT_DOWN.search(card).groups())
    assert before > after
    assert f"progress_percent={before}" in card and f"progress_percent={after}" in card
    assert "<svg" in card and "the violation's polls" in card
    assert re.search(r'<tr id="rule-SS-PROJ-1"><td>SS-PROJ-1</td><td><span class="badge"[^>]*>'
                     r"verified<", dom)

    shot = tmp_path / "shot.png"
    subprocess.run([*command, f"--screenshot={shot}", "--window-size=1200,2000",
                    page.as_uri()], capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "chromium made no screenshot"
    width, height, size, distinct = png_facts(shot.read_bytes())
    assert (width, height) == (1200, 2000)
    assert size > 30_000 and distinct > 64, f"the screenshot looks blank ({size} B, {distinct})"


def test_violations_in_the_html_report_survive_xdist(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("JOBCONTRACTS_", "PYTEST_", "SPECSTEP_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", "-n", "2",
         *FAULT, "-k", "test_full_generation or test_unknown_intake",
         "--contract-report", str(page)],
        cwd=ROOT, env=inherited, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    html = page.read_text(encoding="utf-8")
    card = html[html.index('id="violation-SS-PROJ-3"'):]
    assert WENT_DOWN.search(card) and "<svg" in card and "GET /v1/generations/" in card
    assert "found by <code>tests/specstep/test_generations.py::test_full_generation" in card


def test_each_test_carries_its_rules_and_verdicts_into_junit(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    run = run_suite(tmp_path, "--api", "specstep", "-k", "test_generations",
                    f"--junitxml={junit}")
    assert run.returncode == 0, run.output[-3000:]
    cases = {case.get("name"): {p.get("name"): p.get("value")
                                for p in case.iterfind("properties/property")}
             for case in ET.parse(junit).getroot().iter("testcase")}
    full = cases["test_full_generation"]
    assert full["jobcontracts.rule.SS-PROJ-3"] == "verified"
    assert {"SS-PROJ-1", "SS-PKG-1", "SS-CLAR-4"} <= {k.rsplit(".", 1)[1] for k in full}
    assert all(props for props in cases.values()), cases
    assert {v for props in cases.values() for v in props.values()} == {"verified"}
    assert all(k.startswith("jobcontracts.rule.") for props in cases.values() for k in props)


# ---- the pieces, without a run ------------------------------------------------------------

KEY = "sf_live_0123456789abcdef"


def exchange(seq: int, body: dict[str, object], path: str = "/v1/generations/g1",
             url: str = "") -> Exchange:
    return Exchange(seq, "GET", url or f"https://api.example{path}", {}, b"", 200,
                    {"content-type": "application/json"}, json.dumps(body).encode(),
                    float(seq * 15), float(seq * 15), note=f"poll {seq}")


def test_evidence_keeps_the_exchanges_and_the_timeline_and_crosses_the_wire_scrubbed():
    trace = Trace()
    for seq, (state, percent) in enumerate([("Queued", 0), ("Running", 30), ("Running", 25),
                                            ("Complete", 100)], start=1):
        trace.append(exchange(seq, {"state": state, "progress_percent": percent,
                                    "note": f"key {KEY}"}))
    trace.append(exchange(5, {"url": "x"}, path="/v1/packages/p/zip",
                          url="https://files.example/p.zip?sig=abcdef0123&se=1"))
    rule = RuleOutcome(rule=None, checks_reached=[3])
    rule.violations = [Violation("SS-PROJ-3", "progress_percent went down from 30 to 25",
                                 (trace.exchanges[1], trace.exchanges[2]), ("progress_percent",)),
                       Violation("SS-PKG-1", f"leaked {KEY}", (trace.exchanges[4],))]
    evidence = Evidence()
    evidence.add({"SS-PROJ-3": rule}, trace, Scrubber([KEY]).text, test="t::x")
    evidence.add({"SS-PROJ-3": rule}, trace, Scrubber([KEY]).text, test="t::x")  # no duplicate
    merged = Evidence()
    merged.merge_wire(json.loads(json.dumps(evidence.to_wire())))
    first, second = merged.violations["SS-PROJ-3"]
    assert [ex["fields"] for ex in first["exchanges"]] == [{"progress_percent": 30},
                                                           {"progress_percent": 25}]
    timeline = first["timeline"]
    assert [p["state"] for p in timeline["points"]] == ["Queued", "Running", "Running",
                                                        "Complete"]
    assert timeline["marked"] == [2, 3] and timeline["fields"][0] == "progress_percent"
    assert second["timeline"] is None  # one poll of the package is no timeline
    html = render({"rules": [{"id": "SS-PROJ-3", "status": "violated", "source": "assumed",
                              "detail": "went down"}]}, merged.violations)
    assert find_secrets(html, [KEY]) == [] and "-redacted-" in html
    assert find_secrets(json.dumps(merged.to_wire()), [KEY]) == []


def test_any_status_the_ledger_reports_gets_a_badge():
    html = render({"rules": [{"id": "A-1", "status": "partial", "source": "document",
                              "detail": "2 of 6"},
                             {"id": "A-2", "status": "deferred", "source": "assumed",
                              "detail": "later"},
                             {"id": "A-3", "status": "verified", "source": "assumed",
                              "detail": "judged 3 time(s)"}]}, {})
    assert "No rule was violated." in html
    for status in ("partial", "deferred", "verified"):
        assert f">{status}</span>" in html
    assert html.index("A-2") < html.index("A-3")  # what needs a look comes first


def test_a_tests_verdicts_are_the_union_of_its_traces():
    verdicts = TestVerdicts()
    outcome = RuleOutcome
    verdicts.add({"R-1": outcome(None, [1, 0]), "R-2": outcome(None, [0])})
    verdicts.add({"R-1": outcome(None, [0, 2]), "R-3": outcome(None, [1])})
    broken = outcome(None, [1], [Violation("R-3", "no", ())])
    verdicts.add({"R-3": broken})
    assert verdicts.verdicts() == {"R-1": "verified", "R-3": "violated"}


def png_facts(data: bytes) -> tuple[int, int, int, int]:
    """Width, height, compressed size and distinct byte values of a PNG's image
    data. A blank page is one colour: its rows filter to runs of one byte and
    compress to almost nothing; a page of text and plots does neither."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return width, height, len(idat), len(set(zlib.decompress(idat)))


def test_a_failing_example_is_printed_with_its_values(tmp_path: Path) -> None:
    """schemathesis, imported by the suite, blanks hypothesis's printer for the
    whole process (`suite/printer.py`): a property test's failing example must
    still show the values that broke the rule."""
    run = run_suite(tmp_path, "--api", "specstep", "--sim-fault", "crash-on-astral",
                    "-k", "retries_replay", "--hypothesis-seed=0")
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == {"SS-HTTP-1"}
    example = re.search(r"Failing test case: test_retries_replay_refuse_or_start_anew\((.*?)\)$",
                        run.output, re.DOTALL | re.MULTILINE)
    assert example is not None, run.output[-3000:]
    assert re.search(r"key='[^']+'", example.group(1)), example.group(1)
    assert re.search(r"message='[^']+'", example.group(1)), example.group(1)


def _drawn_messages(tmp_path: Path, seed: int, name: str) -> list[str]:
    """The turn messages a property test drew, under a CI's environment (what
    else it sent also follows the simulator, which the seed seeds too)."""
    recorded = tmp_path / name
    recorded.mkdir()
    run = run_suite(recorded, "--api", "specstep", "-k", "retries_replay",
                    f"--hypothesis-seed={seed}", "--record", str(recorded), env={"CI": "true"})
    assert run.returncode == 0, run.output[-3000:]
    bodies = [interaction["request"]["body"]
              for cassette in sorted(recorded.rglob("test_retries_replay*.yaml"))
              for interaction in yaml.safe_load(cassette.read_text())["interactions"]]
    return sorted({json.loads(body)["message"] for body in bodies
                   if isinstance(body, str) and body.startswith('{"message"')})


def test_the_seed_fixes_the_examples_under_ci_too(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """hypothesis derandomizes under `CI` (its `ci` profile, chosen when it is
    imported), which would make every seed draw the same examples and the seed
    a report prints reproduce nothing outside CI: the suite's profiles keep the
    seed in charge. Cold runs: a zygote imported hypothesis in its own env."""
    monkeypatch.setenv("JOBCONTRACTS_COLD_RUNS", "1")
    first, again, other = (_drawn_messages(tmp_path, 7, "a"), _drawn_messages(tmp_path, 7, "b"),
                           _drawn_messages(tmp_path, 8, "c"))
    assert len(first) > 10 and first == again
    assert first != other

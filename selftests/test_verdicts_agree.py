"""One verdict, however a violation surfaces: the terminal summary, the JSON
report, JUnit XML and the exit code agree."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import httpx

from jobcontracts.serve import SimulatorApp, make_simulator, serving
from jobcontracts.sims import pos as pos_sim

from .suite_runner import run_suite


def test_a_violation_found_through_schemathesis_reaches_every_report(tmp_path):
    """A POS server that answers 500 for a job id that is not an integer: the
    failure surfaces through schemathesis's check path (an exception group)."""
    simulator = make_simulator("pos", speed=100)
    conforming = simulator.handle

    def handle(request: httpx.Request) -> httpx.Response:
        job = re.search(r"/jobs/([^/]+)", request.url.path)
        if job and not job.group(1).isdigit():
            return httpx.Response(500, json={"error": "unhandled"})
        return conforming(request)

    simulator.handle = handle
    junit = tmp_path / "junit.xml"
    with serving(SimulatorApp(simulator), name="a POS server") as url:
        run = run_suite(tmp_path, "--api", "pos", "-k", "test_published_document",
                        "--hypothesis-profile", "jobcontracts-live-selftest",
                        f"--junitxml={junit}",
                        env={"POS_API_URL": url, "POS_API_KEY": pos_sim.DEFAULT_API_KEY})
    assert run.returncode == 1, run.output[-3000:]
    assert run.rules["POS-SCHEMA-1"]["status"] == "violated", run.rules
    assert re.search(r"violated\s+POS-SCHEMA-1", run.output), run.output[-3000:]
    failures = [f.get("message", "") + (f.text or "") for f in ET.parse(junit).iter("failure")]
    assert failures and any("POS-SCHEMA-1" in text for text in failures)

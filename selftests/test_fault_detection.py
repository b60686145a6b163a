"""Every rule bites: each simulator fault makes the contract suite fail with
that fault's rule id, and only that one; the conforming simulator passes
whatever the seed."""

from __future__ import annotations

import os

import pytest

from jobcontracts.sims.specstep import FAULTS

from .suite_runner import run_suite

SEED = os.environ.get("JOBCONTRACTS_SEED", "0")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_caught_by_its_rule(tmp_path, fault):
    rule = FAULTS[fault].rule
    run = run_suite(tmp_path, "--api", "specstep", "--sim-fault", fault,
                    "--hypothesis-profile", "jobcontracts-selftest", f"--hypothesis-seed={SEED}")
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == {rule}, run.output[-3000:]
    assert f"E           {rule} " in run.output or f"{rule} " in run.output
    assert "reproduce: pytest" in run.output
    assert f"--sim-fault {fault}" in run.output


@pytest.mark.parametrize("seed", range(1, 21))
def test_conforming_simulator_passes_with_any_seed(tmp_path, seed):
    run = run_suite(tmp_path, "--api", "specstep", f"--hypothesis-seed={seed}")
    assert run.returncode == 0, run.output[-3000:]
    assert run.with_status("verified") == set(run.rules), {
        rule_id: entry for rule_id, entry in run.rules.items() if entry["status"] != "verified"}
    assert len(run.rules) == 33

"""Every rule bites: each simulator fault makes the contract suite fail with
that fault's rule id, and only that one, on the reference variant and on
another; the conforming simulators pass whatever the seed and the variant
(`sims/variant.py`: the choices the documents leave to a server)."""

from __future__ import annotations

import os

import pytest

from jobcontracts.apis import api_support

from .suite_runner import run_suite

SEED = os.environ.get("JOBCONTRACTS_SEED", "0")
#: The APIs whose simulators this sweeps, and how many rules each contract has.
RULES = {"specstep": 33, "pos": 7, "interrogation": 12}
CASES = [(api, fault) for api in RULES for fault in sorted(api_support(api).faults)]
#: Each fault is caught on the reference variant, and again on one of these.
OTHER_VARIANTS = (1, 2, 3)
VARIANT_CASES = [(api, fault, OTHER_VARIANTS[i % len(OTHER_VARIANTS)])
                 for i, (api, fault) in enumerate(CASES)]


@pytest.mark.parametrize(("api", "fault"), CASES, ids=[f"{api}-{fault}" for api, fault in CASES])
def test_fault_is_caught_by_its_rule(tmp_path, api, fault):
    assert_caught(tmp_path, api, fault, 0)


@pytest.mark.parametrize(("api", "fault", "variant"), VARIANT_CASES,
                         ids=[f"{api}-{fault}-variant{v}" for api, fault, v in VARIANT_CASES])
def test_fault_is_caught_on_another_variant(tmp_path, api, fault, variant):
    assert_caught(tmp_path, api, fault, variant)


def assert_caught(tmp_path, api, fault, variant):
    rule = api_support(api).faults[fault].rule
    run = run_suite(tmp_path, "--api", api, "--sim-fault", fault, "--sim-variant", str(variant),
                    "--hypothesis-profile", "jobcontracts-selftest", f"--hypothesis-seed={SEED}")
    assert run.returncode == 1, run.output[-3000:]
    assert run.with_status("violated") == {rule}, run.output[-3000:]
    assert f"E           {rule} " in run.output or f"{rule} " in run.output
    assert "reproduce: pytest" in run.output
    assert f"--sim-fault {fault}" in run.output


@pytest.mark.parametrize("seed", range(1, 21))
def test_conforming_simulators_pass_with_any_seed_and_variant(tmp_path, seed):
    """Every API in one run per seed, each seed on its own variant: 20 lawful
    servers per API, each met with different hypothesis examples."""
    apis = [arg for api in RULES for arg in ("--api", api)]
    run = run_suite(tmp_path, *apis, f"--hypothesis-seed={seed}", "--sim-variant", str(seed))
    assert run.returncode == 0, run.output[-3000:]
    assert run.with_status("verified") == set(run.rules), {
        rule_id: entry for rule_id, entry in run.rules.items() if entry["status"] != "verified"}
    assert len(run.rules) == sum(RULES.values())

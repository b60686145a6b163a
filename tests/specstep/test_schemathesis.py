"""schemathesis over SpecStep's REST endpoints, exported from the contract
(`jobcontracts openapi specstep`): no 5xx, documented statuses, content types
and JSON bodies, invalid data refused, and every SS-* rule on each case. Path
ids are real three times in four: an interview with a turn, its turn job, a
completed interview's generation (on the simulator; a live fuzz leaves the
paid operation out and creates no generation)."""

from pathlib import Path

import pytest

from jobcontracts.drivers.specstep import body_of
from jobcontracts.fuzzing import Fuzz, api_schema

pytestmark = pytest.mark.api("specstep")

SCHEMA = api_schema(Path(__file__).parents[2] / "contracts" / "specstep.yaml")


def fuzz_for(specstep):
    if not hasattr(specstep, "fuzz"):
        d = specstep.driver
        interview_id = d.create_interview()
        turn = body_of(d.post_turn(interview_id, "A portal for customer feedback."), 202)
        pools = {"interview_id": [interview_id], "job_id": [turn["job_id"]]}
        if not specstep.live:
            generation = body_of(d.start_generation(d.intake(), "Fast"), 202)
            pools["generation_id"] = [generation["id"]]
            pools["interview_id"].append(generation.get("interview_id") or interview_id)
        specstep.fuzz = Fuzz(specstep, {name: (lambda ids=ids: ids)
                                        for name, ids in pools.items()})
    return specstep.fuzz


@SCHEMA.parametrize()
def test_rest_endpoints(case, specstep):
    fuzz_for(specstep).check(case)
    if not specstep.live:
        specstep.client.clock.sleep(5)  # the generation moves on between cases

"""schemathesis over the Interrogation Agent's REST endpoints, exported from
the contract (`jobcontracts openapi interrogation`): no 5xx, documented
statuses, JSON bodies, invalid requests refused, and every IA-* rule on each
case. The event stream is left to the stream rules. Simulation ids are real
three times in four on the simulator (a live fuzz leaves the paid create out
and starts nothing)."""

from pathlib import Path

import pytest

from jobcontracts.drivers.specstep import body_of
from jobcontracts.fuzzing import Fuzz, api_schema

pytestmark = pytest.mark.api("interrogation")

SCHEMA = api_schema(Path(__file__).parents[2] / "contracts" / "interrogation.yaml")


def fuzz_for(interrogation):
    if not hasattr(interrogation, "fuzz"):
        ids = []
        if not interrogation.live:
            d = interrogation.driver
            first = body_of(d.stakeholders(), 200)["stakeholders"][0]["id"]
            for text in ("Why do users churn after onboarding?", "FAIL on purpose"):
                created = d.create({"user_input": text, "stakeholder_id": first,
                                    "max_interview_messages": 3})
                ids.append(body_of(created, 202)["simulation_id"])
        interrogation.fuzz = Fuzz(interrogation, {"simulation_id": lambda: ids})
    return interrogation.fuzz


@SCHEMA.parametrize()
def test_rest_endpoints(case, interrogation):
    fuzz_for(interrogation).check(case)
    if not interrogation.live:
        interrogation.client.clock.sleep(4)  # the runs move on between cases

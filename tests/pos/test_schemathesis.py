"""schemathesis over the POS document as published (plus the contract's
assumed endpoints and answers): its generic checks and every POS rule judge
each case. Job ids are real three times in four: jobs this test creates on
the simulator (one of each fate), or, live, the `--pos-job-id` ones (a live
fuzz creates nothing: the paid operation is left out)."""

from pathlib import Path

import pytest

from jobcontracts.fuzzing import Fuzz, api_schema

pytestmark = pytest.mark.api("pos")

SCHEMA = api_schema(Path(__file__).parents[2] / "contracts" / "pos_adapter_scripts.yaml")
TOPICS = ("smooth", "daily sales clarify flaky", "fail", "fail-early")


def fuzz_for(pos, job_ids):
    if not hasattr(pos, "fuzz"):
        if not pos.live:
            job_ids = [pos.driver.create_job("Square", topic) for topic in TOPICS]
        pos.fuzz = Fuzz(pos, {"jobId": lambda: job_ids})
    return pos.fuzz


@SCHEMA.parametrize()
def test_published_document(case, pos, pytestconfig):
    fuzz_for(pos, pytestconfig.getoption("pos_job_id")).check(case)
    if not pos.live:
        pos.client.clock.sleep(3)  # on the simulator's clock, the jobs move on between cases

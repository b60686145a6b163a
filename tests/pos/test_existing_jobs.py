"""Live runs: existing jobs given with --pos-job-id, polled read-only (no job
is created and no question answered) and judged by every rule."""

import pytest

pytestmark = pytest.mark.api("pos")


def test_existing_jobs_are_lawful(pos, pytestconfig):
    job_ids = pytestconfig.getoption("pos_job_id")
    if not pos.live or not job_ids:
        pytest.skip("read-only runs need a live target and --pos-job-id")
    for job_id in job_ids:
        pos.driver.watch(job_id)

"""POS-AUTH-1: a missing or wrong X-Api-Key gets 401, on every endpoint."""

import pytest

from jobcontracts.drivers.pos import unknown_job_id

pytestmark = pytest.mark.api("pos")


@pytest.mark.parametrize("credential", ["missing", "invalid"])
def test_keyless_reads_and_answers_are_refused(pos, credential):
    d = pos.driver
    job_id = unknown_job_id(pos.unknown_id())
    d.job(job_id, credential=credential, note=f"{credential} key")
    d.respond(job_id, "Use the v2 API.", credential=credential, note=f"{credential} key")


@pytest.mark.parametrize("credential", ["missing", "invalid"])
def test_keyless_generate_is_refused(pos, credential):
    """Live, a server that ignored the key would create a job: the request
    spends the paid budget, leaving one job for `test_full_job`."""
    pos.driver.generate(provider="Square", topic="daily sales smooth", credential=credential,
                        keep=1 if pos.live else 0, note=f"{credential} key")

"""429 handling: SS-RATE-1..3. The client honours Retry-After on every request."""

import pytest

from jobcontracts.drivers.specstep import body_of

pytestmark = pytest.mark.api("specstep")


def burst(settings):
    return int(settings.get("rate_limit_burst", 40))


def test_reads_are_throttled_lawfully(specstep):
    for _ in range(burst(specstep.contract.settings)):
        specstep.client.request("GET", "/v1/me", note="rate-limit burst")


def test_refused_turns_commit_nothing(specstep):
    d = specstep.driver
    interview_id = d.create_interview()
    d.get_interview(interview_id)
    for i in range(burst(specstep.contract.settings)):
        d.post_turn(interview_id, f"burst message {i}", note="rate-limit burst")
    body_of(d.get_interview(interview_id), 200)

"""429 handling: SS-RATE-1..3. The client honours Retry-After on every request.

A live run spends at most `--rate-limit-probe N` requests here (default 0:
off): half bursting a cheap read, half bursting turn POSTs.
"""

import pytest

from jobcontracts.drivers.specstep import body_of

pytestmark = pytest.mark.api("specstep")


def probe(run, share):
    n = run.options.rate_limit_probe
    if n <= 0:
        pytest.skip("--rate-limit-probe is 0: no requests may be spent provoking a 429")
    return max(1, n // 2) if share == "first" else max(1, n - n // 2)


def test_reads_are_throttled_lawfully(specstep):
    for _ in range(probe(specstep, "first")):
        specstep.client.request("GET", "/v1/me", note="rate-limit burst")


def test_refused_turns_commit_nothing(specstep):
    n = probe(specstep, "second")
    d = specstep.driver
    interview_id = d.create_interview()
    d.get_interview(interview_id)
    for i in range(max(1, n - 3)):
        d.post_turn(interview_id, f"burst message {i}", note="rate-limit burst")
    body_of(d.get_interview(interview_id), 200)

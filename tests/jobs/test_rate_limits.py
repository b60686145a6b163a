"""JOB-RATE-1: a 429 carries Retry-After, and a refused PATCH changes no
workflow. The client honours Retry-After on every request but the burst
here, which sends each request once to meet the refusal itself. A live run
spends at most `--rate-limit-probe N` requests here (default 0: off)."""

import pytest

pytestmark = pytest.mark.api("jobs")


def test_a_throttled_patch_changes_nothing(jobs):
    n = jobs.options.rate_limit_probe
    if n <= 0:
        pytest.skip("--rate-limit-probe is 0: no requests may be spent provoking a 429")
    d = jobs.driver
    # The last few of the first page: workflows no other test writes.
    d.patch_while_throttled(d.search_all(limit=5)[-3:][::-1], n)

"""Plan and quota: JOB-BILL-1 on every estimate, and the metamorphic pairs of
JOB-BILL-2 (more iterations, or a superset of the tools, never lower an
estimate). Free: nothing here is paid."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobcontracts.strategies_jobs import quota_pairs

pytestmark = pytest.mark.api("jobs")


def test_plan_and_estimates(jobs):
    d = jobs.driver
    d.plan()
    tools = d.quota_tools
    d.quota(tools[:1], 1)
    d.quota(tools[:2], 1, note="a superset of the tools")
    d.quota(tools[:2], 3, note="more iterations")
    d.quota(tools, 50)
    d.quota(tools, 10_000, note="a large estimate (past the tier's threshold)")
    d.quota([tools[0], tools[0]], 2, note="a repeated tool is one row")
    d.quota(["no_such_tool"], 1, note="unknown tool")
    d.quota(tools[:1], 0, note="max_iterations < 1")


@settings(max_examples=min(settings().max_examples, 12))
@given(data=st.data())
def test_estimates_are_monotone(jobs, data):
    """The tools are the contract's `quota_tools` setting."""
    with jobs.example() as run:
        d = run.driver
        pair = data.draw(quota_pairs(d.quota_tools))
        d.plan()
        d.quota(pair.tools, pair.iterations)
        d.quota(pair.more_tools, pair.iterations)
        d.quota(pair.tools, pair.more_iterations)
        d.quota(pair.more_tools, pair.more_iterations)

"""IA-SSE-*, IA-STAT-1 and IA-REQ-2 over whole runs: the document's frontend
flow (start, follow the returned URLs, read the stream live), a connection
lost mid-run and resumed with Last-Event-ID, status polls to the end and
after it, and resumptions after the end.

Live, each run is one paid run: the two tests below are what
`--max-generations 2` buys.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobcontracts.drivers.interrogation import PROBLEM, event_ids

pytestmark = pytest.mark.api("interrogation")

PROFILE = ("I am a 40 year old operations manager at a logistics company. I approve the "
           "tools my dispatchers use and I cancel what slows them down.")


def resume_after_the_end(d, simulation_id, ids):
    """Reconnect after the run ended, from its first, a middle, the next to
    last and the last event: each gets the rest of the run, or nothing."""
    picks = [ids[0], ids[len(ids) // 2], ids[-2], ids[-1]] if len(ids) > 1 else ids
    for last in dict.fromkeys(picks):
        d.stream(simulation_id, last_event_id=last, deadline=d.grace)


def test_completed_run(interrogation):
    d = interrogation.driver
    first = d.stakeholder_ids()[0]
    run = d.start({"user_input": PROBLEM, "stakeholder_id": first,
                   "max_interview_messages": 8})
    d.follow(run)
    d.status(run.simulation_id, note="just started")
    lost = d.stream(run.simulation_id, stop_after=12, note="connection lost mid-run")
    seen = event_ids(lost)
    d.stream(run.simulation_id, last_event_id=seen[-1] if seen else None,
             note="reconnect mid-run")
    d.wait_terminal(run.simulation_id)
    d.wait_a_while()
    d.status(run.simulation_id, note="later: still the same")
    full = d.stream(run.simulation_id, note="the whole run again")
    resume_after_the_end(d, run.simulation_id, event_ids(full))
    d.status(run.simulation_id)


def test_failed_run(interrogation):
    """The document's ad-hoc profile request, with an input the simulators
    fail on (a live server may complete it: every rule still applies)."""
    d = interrogation.driver
    d.stakeholder_ids()
    run = d.start({"user_input": d.failing_input, "stakeholder_profile": PROFILE,
                   "max_interview_messages": 10})
    d.follow(run)
    d.status(run.simulation_id, note="just started")
    full = d.stream(run.simulation_id, note="the run, live")
    d.wait_terminal(run.simulation_id)
    d.wait_a_while()
    d.status(run.simulation_id, note="later: still the same")
    resume_after_the_end(d, run.simulation_id, event_ids(full))


@given(limit=st.integers(2, 40), which=st.integers(0, 4), failing=st.booleans(),
       hang_up=st.integers(1, 60))
def test_any_run_streams_lawfully(interrogation, limit, which, failing, hang_up):
    """Runs of every length and stakeholder, read whole and resumed from any
    point. Simulator only: each example is a paid run."""
    interrogation.require_simulator("each example starts a paid run")
    with interrogation.example() as session:
        d = session.driver
        listed = d.stakeholder_ids()
        run = d.start({"user_input": d.failing_input if failing else PROBLEM,
                       "stakeholder_id": listed[which % len(listed)],
                       "max_interview_messages": limit})
        lost = d.stream(run.simulation_id, stop_after=hang_up)
        seen = event_ids(lost)
        if seen:
            d.stream(run.simulation_id, last_event_id=seen[-1])
        d.wait_terminal(run.simulation_id)
        full = d.stream(run.simulation_id)
        resume_after_the_end(d, run.simulation_id, event_ids(full))

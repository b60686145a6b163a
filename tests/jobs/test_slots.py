"""JOB-SLOT-2 by hypothesis: a slot with options refuses anything outside
them, a required slot refuses null and "", and a refused fill changes
nothing. Each example is one paid job: simulator only."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobcontracts.drivers.jobs import lawful_value, option_values, pending_slots
from jobcontracts.strategies_jobs import free_text, outside_options, required_blanks

pytestmark = pytest.mark.api("jobs")


def waiting(job):
    return job.get("status") in ("slots_pending", "ready", "ready_with_preview")


@settings(max_examples=min(settings().max_examples, 6))
@given(data=st.data())
def test_slot_values_inside_and_outside_options(jobs, data):
    jobs.require_simulator("each example is one paid job")
    with jobs.example() as run:
        d = run.driver
        job_spec_id = d.start_goal("slots")
        paused = d.poll_goal(job_spec_id, waiting, on_slots=lambda *_: None)
        for slot in pending_slots(paused):
            if option_values(slot):
                d.fill(job_spec_id, slot["slot_id"], data.draw(outside_options(slot)),
                       note="outside its options")
            if slot.get("required", True):
                d.fill(job_spec_id, slot["slot_id"], data.draw(required_blanks()),
                       note="blank for a required slot")
            d.get_goal(job_spec_id)
            value = lawful_value(slot) if option_values(slot) else data.draw(free_text())
            d.fill(job_spec_id, slot["slot_id"], value, note="lawful value")
        d.poll_goal(job_spec_id, lambda job: job.get("status") in ("ready", "ready_with_preview"),
                    on_slots=lambda *_: None)

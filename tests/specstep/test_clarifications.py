"""All-or-nothing clarification batches, as properties: SS-CLAR-1..5.

Every kind of inexact batch is also probed, deterministically, by the one
paid generation of `test_generations.py::test_full_generation`."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobcontracts.drivers.specstep import PAUSED, body_of
from jobcontracts.strategies import exact_batches, inexact_batches

pytestmark = pytest.mark.api("specstep")


def paused_generation(d):
    generation_id = body_of(d.start_generation(d.intake(), "Fast"), 202)["id"]
    d.poll_generation(generation_id, until=lambda g: g.get("state") == PAUSED)
    return generation_id


@given(data=st.data())
def test_inexact_batches_are_refused_whole(specstep, data):
    specstep.require_simulator("every example creates a paid generation")
    with specstep.example() as run:
        d = run.driver
        generation_id = paused_generation(d)
        questions = d.pending_questions(generation_id)
        if not questions:
            return  # SS-CLAR-1 judges an empty list while paused
        how, batch = data.draw(inexact_batches(questions), label="batch")
        d.answer(generation_id, batch, note=f"inexact batch ({how})")
        d.clarifications(generation_id)
        d.generation(generation_id)


@given(data=st.data())
def test_exact_batches_in_any_order_resume(specstep, data):
    specstep.require_simulator("every example creates a paid generation")
    with specstep.example() as run:
        d = run.driver
        generation_id = paused_generation(d)
        questions = d.pending_questions(generation_id)
        if not questions:
            return
        batch = data.draw(exact_batches(questions), label="batch")
        if d.answer(generation_id, batch).status == 200:
            # SS-CLAR-4: answered, not yet resumed: a further batch gets 409.
            d.answer(generation_id, batch, note="the same batch again, before the resume")
            d.clarifications(generation_id)
        d.poll_generation(generation_id, until=lambda g: g.get("state") != PAUSED)
        d.clarifications(generation_id)

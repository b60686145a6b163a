"""Generations: SS-GEN-*, every SS-PROJ-* over a full run, SS-PKG-1, SS-CLAR-4, SS-CLAR-5."""


import pytest
from hypothesis import given

from jobcontracts.drivers.specstep import body_of
from jobcontracts.strategies import (
    INEXACT,
    VALID_PROFILES,
    inexact_batch,
    invalid_review_profiles,
)

pytestmark = pytest.mark.api("specstep")


@pytest.mark.parametrize("profile", VALID_PROFILES)
def test_documented_review_profiles_are_accepted(specstep, profile):
    """Each documented value once. Live, each is a paid generation, taken only
    from budget beyond the one `test_full_generation` needs."""
    d = specstep.driver
    intake = d.intake()
    created = d.start_generation(intake, profile, keep=1 if specstep.live else 0)
    if created.status == 202:
        d.generation(body_of(created, 202)["id"])


@given(profile=invalid_review_profiles())
def test_other_review_profiles_are_refused(specstep, profile):
    with specstep.example() as run:
        d = run.driver
        d.start_generation(d.intake(), profile, paid=False, note="invalid review_profile")


def test_unknown_intake_is_not_found(specstep):
    d = specstep.driver
    d.intake()
    d.start_generation(specstep.unknown_id(), "Standard", paid=False, note="unknown intake")


def test_full_generation(specstep):
    """One paid generation reaches every generation rule: the document's flow,
    the projection judged on every poll, the clarification list read on every
    tick, answers probed while running and after the end, every kind of
    inexact batch before the exact one, and the package."""
    d = specstep.driver
    generation_id = body_of(d.start_generation(d.intake(), "Fast"), 202)["id"]
    probed = []
    probes = [INEXACT]  # every kind of inexact batch, on the first pause

    def every_tick(record):
        d.clarifications(generation_id)
        d.generation(generation_id)
        if record.get("state") == "Running" and not probed:
            d.answer(generation_id, [{"question": "Is this paused?", "answer": "no"}],
                     note="answers while running")
            d.clarifications(generation_id)
            probed.append(True)

    def on_paused(generation_id):
        """Every paused poll answers, as the document's client does: a pause
        already answered refuses it (SS-CLAR-4), a new one takes it, and a
        poller cannot always tell the two apart (the document allows
        `Running ⇄ PausedAwaitingClarification`, and a resume may fall
        between two polls)."""
        questions = d.pending_questions(generation_id) if probes else []
        if questions:
            for how in probes.pop():
                d.answer(generation_id, inexact_batch(questions, how), note=f"inexact ({how})")
                d.clarifications(generation_id)
                d.generation(generation_id)
            # Waiting one poll lets a rate limit's quota refill, so that no 429
            # retry carries the repeat past the resume.
            d.client.clock.sleep(d.poll_interval)
        accepted = d.answer_all(generation_id)
        if accepted is not None and accepted.status == 200:
            d.answer(generation_id, accepted.request_json["answers"],
                     note="the same batch again, before the resume")
            d.clarifications(generation_id)

    final = d.poll_generation(generation_id, on_tick=every_tick, on_paused=on_paused)
    d.wait_a_while()
    d.generation(generation_id)
    d.clarifications(generation_id)
    d.answer(generation_id, [{"question": "Anything else?", "answer": "no"}],
             note="answers after the end")
    d.clarifications(generation_id)
    d.generation(generation_id)
    if final.get("package_id"):
        d.download_package(final["package_id"])

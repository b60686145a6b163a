"""Goal jobs through their lifecycle: JOB-GOAL-1 on every answer, the
transitions and gated actions of JOB-GOAL-2, the refusals of JOB-GOAL-3, and
the slot rules JOB-SLOT-1..3.

Fates come from the contract's test-mode goal words (`goal_text_words`):
`slots` pauses for slots, `preview` ends analysis in ready_with_preview,
`fail` fails while executing, `partial` ends partial. Live, each lifecycle
is one paid job; `test_slots_preview_to_completed`, one cancel and the
`partial` and `fail` ends come first (in file order too, after the three
convert jobs), the rest only from spare budget."""

import pytest

from jobcontracts.drivers.jobs import lawful_value, option_values, pending_slots
from jobcontracts.session import ScenarioError

pytestmark = pytest.mark.api("jobs")

#: Paid jobs the essential tests of this API need live (3 convert, 4 goal).
ESSENTIAL = 7


def waiting(job):
    return job.get("status") in ("slots_pending", "ready", "ready_with_preview")


def probe_paused(d, job_spec_id, job):
    """While slots are pending: confirm (409), an unknown slot (404), values a
    slot must refuse (422), then every slot lawfully, one then the other, and
    an already filled one again (404); a read after each refusal shows it
    changed nothing."""
    d.confirm(job_spec_id, note="confirm while slots are pending")
    d.get_goal(job_spec_id)
    d.fill(job_spec_id, "no_such_slot", "x", note="unknown slot")
    d.get_goal(job_spec_id)
    slots = pending_slots(job)
    for slot in slots:
        values = option_values(slot)
        if values:
            d.fill(job_spec_id, slot["slot_id"], f"not {values[0]}", note="outside its options")
            d.get_goal(job_spec_id)
        if slot.get("required", True):
            d.fill(job_spec_id, slot["slot_id"], None, note="null for a required slot")
            d.get_goal(job_spec_id)
            d.fill(job_spec_id, slot["slot_id"], "", note='"" for a required slot')
            d.get_goal(job_spec_id)
    for i, slot in enumerate(slots):
        d.fill(job_spec_id, slot["slot_id"], lawful_value(slot), note="lawful value")
        if i == 0:
            d.fill(job_spec_id, slot["slot_id"], lawful_value(slot), note="already filled")
            d.get_goal(job_spec_id)
    d.get_goal(job_spec_id)


def probe_ended(d, job_spec_id):
    """A terminal job refuses confirm, cancel and fills with 409."""
    d.get_goal(job_spec_id)
    d.confirm(job_spec_id, note="confirm a terminal job")
    d.cancel(job_spec_id, note="cancel a terminal job")
    d.fill(job_spec_id, "output_format", "pdf", note="fill a terminal job")
    d.get_goal(job_spec_id)


def test_slots_preview_to_completed(jobs):
    """One paid job reaches every slot rule, confirm's refusals and the event
    stream: slots → fill → ready_with_preview → confirm → completed."""
    d = jobs.driver
    job_spec_id = d.start_goal("slots", "preview")
    paused = d.poll_goal(job_spec_id, waiting)
    if paused.get("status") != "slots_pending":
        raise ScenarioError(f"a 'slots' goal went {paused.get('status')!r}, not slots_pending")
    probe_paused(d, job_spec_id, paused)

    def at_ready(job_spec_id, job):
        d.fill(job_spec_id, "output_format", "pdf", note="fill while ready")
        d.get_goal(job_spec_id)
        d.confirm(job_spec_id)

    d.poll_goal(job_spec_id, on_ready=at_ready)
    d.resumed_events(job_spec_id, first=3)
    d.events(job_spec_id, note="the whole stream, to compare the resumed one with")
    probe_ended(d, job_spec_id)


def test_cancel_while_waiting_for_slots(jobs):
    """The essential cancel: in slots_pending (a state that holds still), then
    again on the cancelled job (409); its stream ends with status cancelled."""
    d = jobs.driver
    job_spec_id = d.start_goal("slots")
    d.poll_goal(job_spec_id, waiting, on_slots=lambda *_: None)
    d.cancel(job_spec_id)
    d.events(job_spec_id)
    probe_ended(d, job_spec_id)


@pytest.mark.parametrize("fate", ["partial", "fail"])
def test_goal_ends(jobs, fate):
    d = jobs.driver
    job_spec_id = d.start_goal(fate)
    d.poll_goal(job_spec_id)
    d.events(job_spec_id)
    probe_ended(d, job_spec_id)


def test_plain_goal_completes(jobs):
    d = jobs.driver
    job_spec_id = d.start_goal(keep=ESSENTIAL if jobs.live else 0)
    d.poll_goal(job_spec_id)
    d.events(job_spec_id)
    d.get_goal(job_spec_id)


@pytest.mark.parametrize("where", ["at once", "ready", "preview", "executing"])
def test_cancel_in_other_states(jobs, where):
    d = jobs.driver
    fates = ("preview",) if where == "preview" else ()
    job_spec_id = d.start_goal(*fates, keep=ESSENTIAL if jobs.live else 0)
    if where == "at once":
        d.cancel(job_spec_id)
    elif where == "executing":
        d.poll_goal(job_spec_id, lambda job: job.get("status") in ("executing",
                                                                 *d.goal_terminal))
        d.cancel(job_spec_id)
    else:
        d.poll_goal(job_spec_id, waiting)
        d.cancel(job_spec_id)
    d.events(job_spec_id)
    probe_ended(d, job_spec_id)


def test_refused_creates_make_no_job(jobs):
    d = jobs.driver
    file_id = d.file_id()
    d.workflow(d.search_all(limit=5)[0])  # a workflow seen: the unknown one is unknown
    d.create_goal(file_ids=[file_id], paid=False, note="no goal_text")
    d.create_goal("", [file_id], paid=False, note="empty goal_text")
    d.create_goal(d.goal_text(), [jobs.unknown_id()], paid=False, note="unknown file id")
    d.create_goal(d.goal_text(), [file_id], jobs.unknown_id(), paid=False,
                  note="unknown workflow id")
    d.get_goal(jobs.unknown_id(), note="unknown job id")


def test_fill_the_suggested_free_text(jobs):
    """A free-text slot takes any text; `lawful_value` is used elsewhere."""
    jobs.require_simulator("one more paid job")
    d = jobs.driver
    job_spec_id = d.start_goal("slots")
    paused = d.poll_goal(job_spec_id, waiting, on_slots=lambda *_: None)
    for slot in pending_slots(paused):
        value = lawful_value(slot) if option_values(slot) else "Ünïcode recipient ✓"
        d.fill(job_spec_id, slot["slot_id"], value)
    d.poll_goal(job_spec_id)

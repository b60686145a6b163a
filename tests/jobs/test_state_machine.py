"""A hypothesis state machine over goal jobs: create, poll, fill (lawfully
or not), confirm, cancel, read the event stream and reconnect to it, wait,
in any order and at any pace. Every rule judges the whole trace when the
run ends; whatever a conforming server may do at any time (a 409 for an
action in the wrong state, a 422 for a refused value) is part of the model,
never a failure. Creating a job is paid: live, the machine only acts on the
jobs it may not create (none), so it runs on the simulator."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, rule

from jobcontracts.drivers.jobs import lawful_value, pending_slots
from jobcontracts.strategies_jobs import outside_options, required_blanks

pytestmark = pytest.mark.api("jobs")

FATES = [(), ("slots",), ("preview",), ("slots", "preview"), ("partial",), ("fail",),
         ("slots", "fail")]


def test_any_sequence_of_goal_actions_keeps_every_rule(jobs):
    jobs.require_simulator("every job the machine creates is paid")

    class GoalMachine(RuleBasedStateMachine):
        goals = Bundle("goals")

        def __init__(self):
            super().__init__()
            self.scope = jobs.example()
            self.run = self.scope.__enter__()
            self.d = self.run.driver
            self.file_id = self.d.file_id()
            self.jobs = {}
            self.seqs = {}

        def _job(self, goal):
            ex = self.d.get_goal(goal)
            if ex.status == 200 and isinstance(ex.json, dict):
                self.jobs[goal] = ex.json
            return self.jobs.get(goal, {})

        @initialize(target=goals, fates=st.sampled_from(FATES))
        def first_goal(self, fates):
            return self.create(fates)

        @rule(target=goals, fates=st.sampled_from(FATES))
        def create(self, fates):
            ex = self.d.create_goal(self.d.goal_text(*fates), [self.file_id])
            body = ex.json
            goal = body.get("job_spec_id") if isinstance(body, dict) else None
            if isinstance(goal, str):
                self._job(goal)
            return goal

        @rule(goal=goals)
        def poll(self, goal):
            if goal:
                self._job(goal)

        @rule(goal=goals, data=st.data(), lawful=st.booleans())
        def fill(self, goal, data, lawful):
            if not goal:
                return
            # Read it right before: a refused fill is judged against the job
            # as it was just then (it may have moved on during a wait).
            slots = pending_slots(self._job(goal)) or [
                {"slot_id": "output_format", "options": ["pdf"], "required": True}]
            slot = data.draw(st.sampled_from(slots))
            if lawful:
                value = lawful_value(slot)
            elif slot.get("options"):
                value = data.draw(st.one_of(outside_options(slot), required_blanks()))
            else:
                value = data.draw(required_blanks())
            self.d.fill(goal, slot["slot_id"], value)
            self._job(goal)

        @rule(goal=goals)
        def confirm(self, goal):
            if goal:
                self.d.confirm(goal)
                self._job(goal)

        @rule(goal=goals)
        def cancel(self, goal):
            if goal:
                self.d.cancel(goal)
                self._job(goal)

        @rule(goal=goals, count=st.integers(1, 4), resume=st.booleans())
        def read_events(self, goal, count, resume):
            """A few events (a job waiting on a human sends keepalives), from
            the start or after the last seq seen; then the job as GET shows it."""
            if not goal:
                return
            after = self.seqs.get(goal) if resume else None
            ex = self.d.events(goal, after_seq=after, stop_after=count)
            seqs = [m["seq"] for m in ex.ws_json
                    if isinstance(m, dict) and isinstance(m.get("seq"), int)]
            if seqs:
                self.seqs[goal] = seqs[-1]
            self._job(goal)

        @rule(seconds=st.sampled_from([0.2, 1, 3, 10, 30]))
        def wait(self, seconds):
            self.d.client.clock.sleep(seconds)

        def teardown(self):
            self.scope.__exit__(None, None, None)

    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(GoalMachine, settings=settings(
        max_examples=min(settings().max_examples, 6), stateful_step_count=15))

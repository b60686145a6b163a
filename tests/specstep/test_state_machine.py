"""A hypothesis state machine over interviews, turns and generations.

It interleaves everything a client may do, in any order and at any pace, and
every projection rule judges the whole trace when the run ends. Whatever a
conforming server may do at any time (a retryable turn failure, a 429, a
pause) is part of the model, never a failure.
"""

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, precondition, rule

from jobcontracts.drivers.specstep import PAUSED, TERMINAL, new_key
from jobcontracts.strategies import turn_messages

pytestmark = pytest.mark.api("specstep")


def test_any_sequence_of_calls_keeps_every_projection_lawful(specstep):
    class SpecStepMachine(RuleBasedStateMachine):
        interviews = Bundle("interviews")
        generations = Bundle("generations")

        def __init__(self):
            super().__init__()
            self.scope = specstep.example()
            self.run = self.scope.__enter__()
            self.d = self.run.driver
            self.intakes = []
            self.keys = {}

        @initialize(target=interviews)
        def first_interview(self):
            return self.d.create_interview()

        @rule(target=interviews)
        def create_interview(self):
            return self.d.create_interview()

        @rule(interview=interviews, message=turn_messages(), keyed=st.booleans())
        def post_turn(self, interview, message, keyed):
            key = new_key() if keyed else None
            posted = self.d.post_turn(interview, message, key=key)
            if key and posted.status == 202:
                self.keys[interview] = (key, message)

        @rule(interview=interviews)
        def replay_last_keyed_turn(self, interview):
            if interview in self.keys:
                key, message = self.keys[interview]
                self.d.post_turn(interview, message, key=key, note="replay")

        @rule(interview=interviews)
        def read_interview(self, interview):
            self.d.get_interview(interview)

        @rule(interview=interviews)
        def complete(self, interview):
            completed = self.d.complete(interview)
            record = self.d.get_interview(interview).json
            if completed.status == 200 and isinstance(record, dict):
                intake = record.get("intake_artifact_id")
                if isinstance(intake, str):
                    self.intakes.append(intake)

        @precondition(lambda self: self.intakes and not self.run.live)
        @rule(target=generations, data=st.data(),
              profile=st.sampled_from(["Fast", "Standard", "Thorough", 0, 1, 2]))
        def start_generation(self, data, profile):
            intake = data.draw(st.sampled_from(self.intakes))
            created = self.d.start_generation(intake, profile)
            body = created.json
            return body.get("id") if created.status == 202 and isinstance(body, dict) else None

        @rule(generation=generations)
        def poll(self, generation):
            if generation:
                record = self.d.generation(generation)
                if record.get("state") == PAUSED:
                    self.d.answer_all(generation)

        @rule(generation=generations)
        def read_clarifications(self, generation):
            if generation:
                self.d.clarifications(generation)

        @rule(polls=st.sampled_from([0.1, 0.25, 1, 4, 20, 60]))
        def wait(self, polls):
            """Up to 15 simulated minutes; against a live server, at most 4 polls."""
            self.d.client.clock.sleep(min(polls, 4 if self.run.live else polls)
                                      * self.d.poll_interval)

        @rule(generation=generations)
        def run_to_the_end(self, generation):
            if generation:
                record = self.d.poll_generation(generation)
                if record.get("state") in TERMINAL and record.get("package_id"):
                    self.d.download_package(record["package_id"])

        def teardown(self):
            self.scope.__exit__(None, None, None)

    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(SpecStepMachine)

"""IA-CAT-1: the catalog lists every documented field and unique ids, each of
which starts a run."""

import pytest

from jobcontracts.drivers.interrogation import PROBLEM

pytestmark = pytest.mark.api("interrogation")


def test_every_listed_stakeholder_starts_a_run(interrogation):
    """Each listed id once. Live, each is a paid run, taken only from budget
    beyond the two the stream tests need."""
    d = interrogation.driver
    for stakeholder_id in d.stakeholder_ids():
        created = d.create({"user_input": PROBLEM, "stakeholder_id": stakeholder_id,
                            "max_interview_messages": 8},
                           keep=2 if interrogation.live else 0, note=f"as {stakeholder_id}")
        answer = created.json
        if created.status == 202 and isinstance(answer, dict):
            d.status(str(answer.get("simulation_id")))

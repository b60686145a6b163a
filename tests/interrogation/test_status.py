"""IA-STAT-1 for an id no run has: 404. (Runs are polled in test_streams.)"""

import pytest

pytestmark = pytest.mark.api("interrogation")


def test_unknown_simulation_is_not_found(interrogation):
    interrogation.driver.status(interrogation.unknown_id(), note="unknown id")

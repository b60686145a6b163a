"""The embedded Interrogation Agent API simulator (interrogation-agent-api.md).

sim = InterrogationSimulator(clock=VirtualClock(), seed=123, faults={"ids-repeat"})
client = httpx.Client(base_url="https://interrogation.sim",
                      transport=httpx.MockTransport(sim.handle))

A `user_input` holding the word FAIL makes a run end in `simulation.error`.
"""

from jobcontracts.sims.interrogation.app import BASE_URL, DEFAULT_API_KEY, InterrogationSimulator
from jobcontracts.sims.interrogation.faults import FAULTS, Fault
from jobcontracts.sims.interrogation.plan import FAIL_TRIGGER

__all__ = [
    "BASE_URL",
    "DEFAULT_API_KEY",
    "FAIL_TRIGGER",
    "FAULTS",
    "Fault",
    "InterrogationSimulator",
]

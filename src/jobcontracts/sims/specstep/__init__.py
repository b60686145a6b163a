"""The embedded SpecStep API simulator (specstep-language-samples.md).

sim = SpecStepSimulator(clock=VirtualClock(), seed=123, faults={"progress-regresses"})
client = httpx.Client(base_url="https://specstep.sim",
                      transport=httpx.MockTransport(sim.handle))
"""

from jobcontracts.sims.specstep.app import DEFAULT_API_KEY, SpecStepSimulator
from jobcontracts.sims.specstep.faults import FAULTS, Fault

__all__ = ["DEFAULT_API_KEY", "FAULTS", "Fault", "SpecStepSimulator"]

"""The embedded POS adapter-scripts job simulator
(pos-adapter-scripts-job-status.md, its OpenAPI document, and the endpoints
CONTRACT-DEFAULTS.md assumes). Topic trigger words and timings: see
`jobcontracts.sims.pos.jobs`.

sim = PosSimulator(clock=VirtualClock(), seed=123, faults={"attempt-skips"})
client = httpx.Client(base_url="https://pos.sim",
                      transport=httpx.MockTransport(sim.handle),
                      headers={"X-Api-Key": DEFAULT_API_KEY})
"""

from jobcontracts.sims.pos.app import DEFAULT_API_KEY, PosSimulator
from jobcontracts.sims.pos.faults import FAULTS, Fault

__all__ = ["DEFAULT_API_KEY", "FAULTS", "Fault", "PosSimulator"]

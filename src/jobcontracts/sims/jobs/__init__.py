"""The embedded convert/goal jobs simulator (jobs-sdk-types.md, and the HTTP
API CONTRACT-DEFAULTS.md fixes under it, section "Convert and goal jobs").
Test-mode inputs, timings and events: see `jobcontracts.sims.jobs.convert`
and `jobcontracts.sims.jobs.goals`; free choices: `choices`; faults: `faults`.

sim = JobsSimulator(clock=VirtualClock(), seed=123, faults={"resume-replays"})
client = httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(sim.handle),
                      headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"})
goal = client.post("/v1/goals", json={"goal_text": "needs slots", "file_ids": []}).json()
channel = sim.connect_events(client.build_request(
    "GET", f"/v1/goals/{goal['job_spec_id']}/events", params={"after_seq": 0}))
first = channel.receive()  # one GoalEvent as JSON text; None once closed (close_code 1000)
"""

from jobcontracts.sims.jobs.app import BASE_URL, DEFAULT_API_KEY, JobsSimulator
from jobcontracts.sims.jobs.events import EventChannel
from jobcontracts.sims.jobs.faults import FAULTS, Fault

__all__ = ["BASE_URL", "DEFAULT_API_KEY", "FAULTS", "EventChannel", "Fault", "JobsSimulator"]

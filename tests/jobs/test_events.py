"""The goal-event WebSocket: JOB-EVT-1..4. A stream is read to its end (the
server closes after the terminal event), and read in two: the first events,
a hang-up, then a reconnect with `after_seq` that must deliver exactly the
rest. The slot, cancel and end-of-job streams are read in `test_goals.py`;
these add a stream read from its very start while the job still runs."""

import pytest

pytestmark = pytest.mark.api("jobs")


def test_stream_read_while_the_job_runs_and_resumed(jobs):
    """Simulator only (live, the essential goal tests read their streams)."""
    jobs.require_simulator("one more paid job")
    d = jobs.driver
    job_spec_id = d.start_goal("partial")
    d.poll_goal(job_spec_id, lambda job: job.get("status") in (
        "confirmed", "queued", "executing", *d.goal_terminal))
    _, rest = d.resumed_events(job_spec_id, first=6)
    d.get_goal(job_spec_id)
    seqs = [m.get("seq") for m in rest.ws_json if isinstance(m, dict)]
    if len(seqs) > 2 and isinstance(seqs[1], int):
        d.events(job_spec_id, after_seq=seqs[1], note="resume again, further back")
    d.events(job_spec_id, note="the whole stream again")
    d.get_goal(job_spec_id)


def test_unknown_job_has_no_stream(jobs):
    jobs.driver.events(jobs.unknown_id(), note="unknown job id")

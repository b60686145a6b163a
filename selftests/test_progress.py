"""Progress on long waits (`progress.py`): the line a person reads, when it is
written at each verbosity, that it is always logged, and a served live run
that shows a generation's states and percentages under `-v` and nothing
under `-q`."""

from __future__ import annotations

import logging
import re

import pytest

from jobcontracts.progress import NO_PROGRESS, Observation, ProgressLog, duration
from jobcontracts.serve import served
from jobcontracts.sims.specstep import DEFAULT_API_KEY

from .suite_runner import run_suite

GENERATION = {"state": "Running", "progress_percent": 32, "phase_detail": "Drafting architecture",
              "estimated_time_remaining_seconds": 850}
ID = "5d1c8a2e-0f4b-4c55-9a43-3f1e2b7c9d10"


class Wall:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def progress(level: int) -> tuple[ProgressLog, list[str], Wall]:
    lines: list[str] = []
    wall = Wall()
    return ProgressLog(lines.append, level, now=wall), lines, wall


def poll(log: ProgressLog, **changes: object) -> None:
    log.observe("specstep generation", ID, {**GENERATION, **changes}, state="state",
                percent="progress_percent", eta="estimated_time_remaining_seconds",
                detail="phase_detail")


def test_a_line_says_the_state_and_the_servers_forecast():
    assert Observation("specstep generation", ID, "Running", 32, 850,
                       "Drafting architecture").line() == (
        "specstep generation 5d1c8a2e… Running 32% (Drafting architecture), ETA 14m10s")
    assert Observation("pos job", "1234", "running", detail="generating").line(65) == (
        "pos job 1234 running (generating), waiting 1m05s")
    assert [duration(s) for s in (0, 45, 850, 7500, -30)] == ["0s", "45s", "14m10s", "2h05m",
                                                               "-30s"]


def test_what_the_server_sends_is_shown_only_when_it_has_the_right_type():
    log, lines, _ = progress(1)
    poll(log, state=None, progress_percent="32", estimated_time_remaining_seconds=True,
         phase_detail=["x"])
    poll(log, state="Running", progress_percent=float("nan"))
    assert lines == ["specstep generation 5d1c8a2e… ?", "specstep generation 5d1c8a2e… Running "
                     "(Drafting architecture), ETA 14m10s"]
    NO_PROGRESS.observe("x", "y", {}, state="state")  # the default does nothing, and says so


def test_default_verbosity_shows_only_long_waits_a_line_per_change_and_a_heartbeat():
    log, lines, wall = progress(0)
    poll(log, state="Queued")
    wall.t = 5
    poll(log)  # a change, but the wait is still short: nothing yet
    assert lines == []
    wall.t = 12
    poll(log)  # now a long wait: its state, once
    wall.t = 30
    poll(log, progress_percent=40)  # the same state and phase: no line
    poll(log, phase_detail="Reviewing")  # a new phase: a line
    assert [line.split(" ", 3)[3] for line in lines] == [
        "Running 32% (Drafting architecture), ETA 14m10s, waiting 12s",
        "Running 32% (Reviewing), ETA 14m10s, waiting 30s"]
    wall.t = 95
    poll(log, progress_percent=60, phase_detail="Reviewing")  # a minute unchanged: heartbeat
    assert lines[-1].endswith("60% (Reviewing), ETA 14m10s, waiting 1m35s")
    assert len(lines) == 3


def test_verbose_shows_every_poll_at_most_once_a_second_and_quiet_nothing():
    log, lines, wall = progress(1)
    for t in (0, 0.2, 0.4, 1.5):
        wall.t = t
        poll(log, progress_percent=int(10 * t))
    assert [re.search(r"\d+%", line)[0] for line in lines] == ["0%", "15%"]
    quiet, silent, wall = progress(-1)
    for t in (0, 100, 200):
        wall.t = t
        poll(quiet, state=f"s{t}")
    assert silent == []


def test_every_change_is_logged_and_every_poll_at_debug(caplog):
    log = ProgressLog(None, -1)
    with caplog.at_level(logging.DEBUG, logger="jobcontracts.progress"):
        poll(log, state="Queued")
        poll(log, state="Queued")
        poll(log)
    assert [r.levelname for r in caplog.records] == ["INFO", "DEBUG", "INFO"]
    assert caplog.records[0].name == "jobcontracts.progress"


def test_a_fresh_simulator_starts_its_waits_afresh():
    log, lines, wall = progress(0)
    poll(log)
    wall.t = 20
    log.restart()  # the next example's simulator mints the same id for another job
    poll(log)
    assert lines == []


# ---- a served live run ---------------------------------------------------------------

#: At speed 60 a Fast generation lasts about 6 wall seconds, polled every 0.05 s.
SERVED = ["--api", "specstep", "-k", "test_full_generation", "--max-generations", "1",
          "--poll-interval", "0.05", "--live-deadline", "60",
          "--contract-setting", "clarification_resume_seconds=2"]
LINE = re.compile(r"^specstep generation \S+ (\w+)(?: (\d+)%)?", re.MULTILINE)


def live(url: str) -> dict[str, str]:
    return {"SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": DEFAULT_API_KEY}


@pytest.mark.parametrize("verbosity", ["-vv", None])
def test_a_served_generation_shows_its_progress_under_v_and_none_under_q(tmp_path, verbosity):
    # run_suite passes -q: with -vv the run's verbosity is that of a plain -v.
    args = [*SERVED, verbosity] if verbosity else SERVED
    with served("specstep", speed=60, seed=11) as url:
        run = run_suite(tmp_path, *args, env=live(url))
    assert run.returncode == 0, run.output[-3000:]
    seen = LINE.findall(run.output)
    if verbosity is None:
        assert seen == [], run.output[-3000:]
        assert "turn job" not in run.output
        return
    states = [state for state, _ in seen]
    assert states[0] == "Queued" and states[-1] == "Complete", seen
    assert "Running" in states, seen
    percents = [int(p) for _, p in seen if p]
    assert percents[-1] == 100 and len(set(percents)) >= 3, seen
    assert re.search(r"Running \d+% \([^)]+\)", run.output), run.output[-3000:]

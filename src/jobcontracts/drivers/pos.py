"""POS adapter-script job traffic: create a job, poll it, answer its question.

The driver says *what* to send and waits on the run's clock; it asserts
nothing. Paths come from the contract's endpoints, the poll pace and the
deadline from its settings (overridden by the run's options). It polls right
after creating a job and then every `poll_interval` seconds (5 by default):
most stages last longer, so a poll sees each one. Creating a job is paid: a
live run takes it from the same allowance as any paid operation.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

from ..budget import Allowance
from ..client import Client
from ..contract import Contract
from ..progress import NO_PROGRESS, Progress
from ..session import RunOptions, ScenarioError
from ..trace import Exchange
from .specstep import body_of

PAUSED = "needs_clarification"
Job = Mapping[str, Any]
_UNSET: Any = object()


def unknown_job_id(token: str) -> str:
    """A 10-digit job id derived from `token` (a seeded UUID), the same on every
    replay: above the ids a service has likely minted, yet a 32-bit integer, so
    that a server parsing ids as `int` can only answer that it has no such job.
    (Should one exist, it answers 200 and is a known job, judged as such.)"""
    return str(10**9 + random.Random(token).randrange(2**31 - 1 - 10**9))


class PosDriver:
    def __init__(self, client: Client, contract: Contract) -> None:
        self.client = client
        settings = contract.settings
        self.poll_interval = float(settings.get("poll_interval_seconds", 5))
        self.deadline = float(settings.get("deadline_seconds", 1800))
        machine = contract.machines.get("job")
        self.terminal = frozenset(machine.terminal if machine else ("completed", "failed"))
        self._generate = contract.endpoints["generate"].template
        self._job = contract.endpoints["get_job"].template
        self._respond = contract.endpoints["respond"].template
        self.paid: Allowance | None = None
        self.progress: Progress = NO_PROGRESS

    def configure(self, options: RunOptions) -> None:
        """Apply the run's options: poll pace, deadline, the paid-operation budget."""
        self.progress = options.progress
        if options.poll_interval is not None:
            self.poll_interval = options.poll_interval
        if options.deadline is not None:
            self.deadline = options.deadline
        self.paid = options.generations

    # ---- requests ---------------------------------------------------------------
    def generate(self, body: Any = _UNSET, *, provider: Any = _UNSET, topic: Any = _UNSET,
                 keep: int = 0, credential: str = "valid", note: str = "") -> Exchange:
        """POST generate with `body`, or `{"provider", "topic"}`. Every such request
        may create a job, so each spends the paid budget first (leaving `keep`
        for other tests) or raises BudgetExceeded."""
        if self.paid is not None:
            self.paid.take(keep=keep)
        if body is _UNSET:
            body = {k: v for k, v in (("provider", provider), ("topic", topic)) if v is not _UNSET}
        return self.client.request("POST", self._generate.fill(), json=body,
                                   credential=credential, note=note)

    def job(self, job_id: str, *, credential: str = "valid", note: str = "") -> Exchange:
        return self.client.request("GET", self._job.fill(jobId=job_id), credential=credential,
                                   note=note)

    def respond(self, job_id: str, text: Any = None, *, body: Any = _UNSET,
                credential: str = "valid", note: str = "") -> Exchange:
        """POST respond with `{"humanResponse": text}`, or any other `body`."""
        if body is _UNSET:
            body = {"humanResponse": text}
        return self.client.request("POST", self._respond.fill(jobId=job_id), json=body,
                                   credential=credential, note=note)

    # ---- scenarios --------------------------------------------------------------
    def create_job(self, provider: str, topic: str, *, keep: int = 0, note: str = "") -> str:
        """Create a job and poll it at once; its id."""
        ex = self.generate(provider=provider, topic=topic, keep=keep, note=note)
        job_id = body_of(ex, 202, 200, 201).get("jobId")
        if isinstance(job_id, bool) or not isinstance(job_id, int | str) or job_id == "":
            raise ScenarioError(f"POST {ex.path} (#{ex.seq}) returned no jobId")
        self.job(str(job_id))
        return str(job_id)

    def status(self, job_id: str) -> dict[str, Any]:
        """The job as one GET shows it (the envelope's `job`)."""
        ex = self.job(job_id)
        job = body_of(ex, 200).get("job")
        if not isinstance(job, dict):
            raise ScenarioError(f"GET {ex.path} (#{ex.seq}) has no job object")
        return job

    def poll(self, job_id: str, until: Callable[[Job], bool] | None = None,
             on_paused: Callable[[str, Job], object] | None = None,
             on_tick: Callable[[Job], object] | None = None) -> dict[str, Any]:
        """Poll every `poll_interval` s until `until(job)` (default: a terminal
        status), calling `on_tick` with each job and `on_paused` while it waits
        for an answer. A terminal job that `until` does not accept, or the
        deadline, ends the scenario."""
        done = until or (lambda job: job.get("status") in self.terminal)
        start = self.client.clock.now()
        while True:
            job = self.status(job_id)
            self.progress.observe("pos job", job_id, job, state="status", detail="stage")
            if on_tick is not None:
                on_tick(job)
            if done(job):
                return job
            status = job.get("status")
            if status in self.terminal:
                raise ScenarioError(f"job {job_id} ended {status!r}")
            if status == PAUSED and on_paused is not None:
                on_paused(job_id, job)
            if self.client.clock.now() - start > self.deadline:
                raise ScenarioError(f"job {job_id} still {status!r} after {self.deadline:g} s")
            self.client.clock.sleep(self.poll_interval)

    def watch(self, job_id: str) -> dict[str, Any]:
        """Read-only: poll until the job ends or waits for an answer, or the
        deadline passes, whichever is first; never an error."""
        start = self.client.clock.now()
        while True:
            job = self.status(job_id)
            self.progress.observe("pos job", job_id, job, state="status", detail="stage")
            if job.get("status") in (*self.terminal, PAUSED):
                return job
            if self.client.clock.now() - start > self.deadline:
                return job
            self.client.clock.sleep(self.poll_interval)

    def probe_respond(self, job_id: str, note: str) -> Exchange:
        """A respond the job is not waiting for, between two polls that show it."""
        self.job(job_id)
        refused = self.respond(job_id, "Nobody asked, but: use the v2 API.", note=note)
        self.job(job_id)
        return refused

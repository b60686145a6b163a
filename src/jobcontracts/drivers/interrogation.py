"""Interrogation Agent traffic, as the document's frontend flow makes it:
fetch the stakeholder catalog, start a run, follow it live on the event
stream (reconnecting with `Last-Event-ID` when told to), poll its status.

The driver says *what* to send and waits on the run's clock; it asserts
nothing. Where an answer leaves it unable to go on, it raises
`ScenarioError`; the oracles then say which rule the answer broke.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from ..budget import Allowance
from ..client import Client
from ..contract import Contract
from ..progress import NO_PROGRESS, Progress
from ..session import RunOptions, ScenarioError
from ..trace import Exchange, event_name
from .specstep import body_of

#: The document's own example problem statement.
PROBLEM = "Our trial-to-paid conversion dropped after onboarding changes."


@dataclass(frozen=True)
class Started:
    """An accepted `POST /api/simulations`: the run and where the answer points."""

    exchange: Exchange
    simulation_id: str
    events_url: str | None
    details_url: str | None


class InterrogationDriver:
    def __init__(self, client: Client, contract: Contract) -> None:
        self.client = client
        settings = contract.settings
        self.terminal = [str(t) for t in settings.get(
            "terminal_events", ["simulation.completed", "simulation.error"])]
        self.poll_interval = float(settings.get("poll_interval_seconds", 5))
        self.deadline = float(settings.get("deadline_seconds", 1800))
        self.stream_deadline = float(settings.get("stream_deadline_seconds", 1800))
        self.grace = float(settings.get("stream_end_grace_seconds", 5))
        self.failing_input = str(settings.get("failing_input", "Please FAIL this run."))
        self.paid: Allowance | None = None
        self.progress: Progress = NO_PROGRESS

    def configure(self, options: RunOptions) -> None:
        """Apply the run's options: poll pace, deadline, the paid-run budget."""
        self.progress = options.progress
        if options.poll_interval is not None:
            self.poll_interval = options.poll_interval
        if options.deadline is not None:
            self.deadline = self.stream_deadline = options.deadline
        self.paid = options.generations

    def wait_a_while(self) -> None:
        """Long enough for a result that should stay put to be seen again later."""
        self.client.clock.sleep(4 * self.poll_interval)

    # ---- the catalog --------------------------------------------------------------
    def stakeholders(self) -> Exchange:
        return self.client.request("GET", "/api/stakeholders", note="stakeholder catalog")

    def stakeholder_ids(self) -> list[str]:
        """The catalog's ids, in its order (the well-formed entries only)."""
        ex = self.stakeholders()
        entries = body_of(ex, 200).get("stakeholders")
        ids = [e["id"] for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)
               ] if isinstance(entries, list) else []
        if not ids:
            raise ScenarioError(f"GET /api/stakeholders (#{ex.seq}) lists no stakeholder id")
        return ids

    # ---- runs ------------------------------------------------------------------------
    def create(self, body: Any = None, *, raw: bytes | None = None, paid: bool = True,
               keep: int = 0, note: str = "") -> Exchange:
        """POST /api/simulations. A `paid` request (one that should start a run)
        spends the run's budget first, leaving `keep` runs for other tests, or
        raises BudgetExceeded."""
        if paid and self.paid is not None:
            self.paid.take(keep=keep)
        if raw is not None:
            return self.client.request("POST", "/api/simulations", content=raw,
                                       headers={"Content-Type": "application/json"}, note=note)
        return self.client.request("POST", "/api/simulations", json=body, note=note)

    def start(self, body: dict[str, Any], *, keep: int = 0, note: str = "") -> Started:
        """Start a run with a body that should be accepted."""
        ex = self.create(body, keep=keep, note=note or "start a run")
        answer = body_of(ex, 202, 200, 201)
        simulation_id = answer.get("simulation_id")
        if not isinstance(simulation_id, str) or not simulation_id:
            raise ScenarioError(f"POST /api/simulations (#{ex.seq}) returned no simulation_id")
        links = {name: urljoin(ex.url, link) if isinstance(link := answer.get(name), str)
                 else None for name in ("events_url", "details_url")}
        return Started(ex, simulation_id, links["events_url"], links["details_url"])

    def follow(self, started: Started) -> None:
        """Follow the URLs the answer handed back: the details, and the event
        stream (hanging up after its first event)."""
        if started.details_url:
            self.client.request("GET", started.details_url, note="follow details_url")
        if started.events_url:
            self.client.stream("GET", started.events_url, until=self.terminal,
                               deadline=self.stream_deadline, grace=self.grace, stop_after=1,
                               note="follow events_url")

    def status(self, simulation_id: str, note: str = "") -> Exchange:
        return self.client.request("GET", f"/api/simulations/{simulation_id}", note=note)

    def wait_terminal(self, simulation_id: str) -> dict[str, Any]:
        """Poll every `poll_interval` s until the run is no longer running."""
        start = self.client.clock.now()
        while True:
            record = body_of(self.status(simulation_id), 200)
            self.progress.observe("interrogation simulation", simulation_id, record,
                                  state="status")
            if record.get("status") != "running":
                return record
            if self.client.clock.now() - start > self.deadline:
                raise ScenarioError(f"simulation {simulation_id} still running after "
                                    f"{self.deadline:g} s")
            self.client.clock.sleep(self.poll_interval)

    # ---- the event stream ------------------------------------------------------------
    def stream(self, simulation_id: str, last_event_id: str | None = None,
               stop_after: int | None = None, *, deadline: float | None = None,
               note: str = "") -> Exchange:
        """Read the run's event stream from the start, or after `last_event_id`,
        to its end (or hang up after `stop_after` events)."""
        headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
        what = "resume" if last_event_id is not None else "stream"
        self.progress.update("interrogation simulation", simulation_id, "reading events",
                             detail=what)
        ex = self.client.stream(
            "GET", f"/api/simulations/{simulation_id}/events", headers=headers,
            until=self.terminal, deadline=self.stream_deadline if deadline is None else deadline,
            grace=self.grace, stop_after=stop_after,
            note=note or (f"{what} after {last_event_id}" if last_event_id else what))
        last = event_name(ex.events[-1]) if ex.events else "no event"
        self.progress.update("interrogation simulation", simulation_id, "events read",
                             detail=f"{what}: {len(ex.events)} event(s), last {last}")
        return ex


def event_ids(ex: Exchange) -> list[str]:
    """The `id:`s of a stream's events, in order (events without one left out)."""
    return [event.id for event in ex.events if event.id]

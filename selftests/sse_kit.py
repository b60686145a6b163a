"""Hand-built Interrogation Agent traffic for the oracle unit tests: SSE
frames, a small lawful run, and exchanges of the four endpoints."""

from __future__ import annotations

import json
from typing import Any

from jobcontracts.loader import load_contract
from jobcontracts.oracles import Verdict
from jobcontracts.trace import Exchange

from .oracle_kit import BASE, CONTRACTS, Traffic, check

IA = load_contract(CONTRACTS / "interrogation.yaml")
SIM = "0b6f5a9e-2c44-4e0c-9d7e-1f2a3b4c5d6e"
ANSWER = "Onboarding complexity hurt conversion."
ERROR_TEXT = "model timeout while interviewing h-2"


def frame(name: str, payload: Any = None, event_id: int | str | None = None, *,
          line: str | None = None, sim: str = SIM, data: Any = None) -> str:
    """One event on the wire; `line` overrides the `event:` line, `data` the JSON."""
    if data is None:
        data = {"event": name, "timestamp": 1.0, "simulation_id": sim, "payload": payload or {}}
    head = "" if event_id is None else f"id: {event_id}\n"
    text = data if isinstance(data, str) else json.dumps(data)
    return f"{head}event: {line or name}\ndata: {text}\n\n"


def connected(sim: str = SIM) -> str:
    return frame("sse.connected", {"status": "running"}, sim=sim)


def message(step: int, hypothesis: str, index: int) -> dict[str, Any]:
    return {"step": step, "hypothesis_id": hypothesis, "message_index": index,
            "role": "assistant" if index % 2 == 0 else "user", "content": f"m{index}"}


def transcript(step: int, hypothesis: str, count: int) -> dict[str, Any]:
    return {"step": step, "hypothesis_id": hypothesis, "transcript": {"message_count": count}}


def run_events(*, failed: bool = False, limit: int = 2) -> list[tuple[str, dict[str, Any]]]:
    """A lawful run: started, analysis, a batch of h-1 and h-2, two messages
    for h-1 and one for h-2, then the terminal event."""
    events = [
        ("simulation.started", {"max_interview_messages": limit, "user_input": "x"}),
        ("agent.update", {"step": 1, "stage": "analysis"}),
        ("hypothesis.batch_created", {"step": 2, "count": 2, "hypotheses": [
            {"hypothesis_id": "h-1"}, {"hypothesis_id": "h-2"}]}),
        ("interview.message", message(3, "h-1", 0)),
        ("interview.transcript.updated", transcript(3, "h-1", 1)),
        ("interview.message", message(4, "h-1", 1)),
        ("interview.transcript.updated", transcript(4, "h-1", 2)),
        ("interview.message", message(5, "h-2", 0)),
        ("interview.transcript.updated", transcript(5, "h-2", 1)),
    ]
    if failed:
        return [*events, ("simulation.error", {"message": ERROR_TEXT})]
    return [*events, ("simulation.completed", {"step": 6, "final_answer": ANSWER})]


def frames(events: list[tuple[str, dict[str, Any]]], first_id: int = 0) -> list[str]:
    return [connected()] + [frame(name, payload, first_id + i)
                            for i, (name, payload) in enumerate(events)]


class IaTraffic(Traffic):
    START = 1_768_859_330.0

    def stream(self, body: list[str] | str, *, sim: str = SIM, last: str | None = None,
               error: str | None = None, status: int = 200,
               ctype: str = "text/event-stream") -> Exchange:
        self.now += 1.0
        raw = ("".join(body) if isinstance(body, list) else body).encode()
        ex = Exchange(
            seq=self.trace.next_seq(), method="GET",
            url=f"{BASE}/api/simulations/{sim}/events",
            request_headers={} if last is None else {"Last-Event-ID": last},
            request_body=b"", status=status, response_headers={"Content-Type": ctype},
            response_body=raw, started_at=self.now, finished_at=self.now + 60, error=error)
        self.trace.append(ex)
        self.now += 60
        return ex

    def catalog(self, *ids: str) -> Exchange:
        return self("GET", "/api/stakeholders", 200, {"stakeholders": [
            {"id": i, "title": i, "profile": "p", "age_demography": "a",
             "tech_savviness": "t", "product_context": "c"} for i in ids]})

    def create(self, req: Any, status: int = 202, sim: str = SIM, **answer: Any) -> Exchange:
        path = f"/api/simulations/{sim}"
        body = {"simulation_id": sim, "status": "running", "events_url": f"{path}/events",
                "details_url": path, **answer} if status < 300 else {"detail": "no"}
        return self("POST", "/api/simulations", status, body, req=req)

    def status(self, status: str = "running", sim: str = SIM, code: int = 200,
               **fields: Any) -> Exchange:
        record = {"simulation_id": sim, "status": status, "started_at": self.START,
                  "completed_at": None if status == "running" else self.START + 90,
                  "error": ERROR_TEXT if status == "failed" else None,
                  "final_answer": ANSWER if status == "completed" else None, **fields}
        body = record if code == 200 else {"detail": "not found"}
        return self("GET", f"/api/simulations/{sim}", code, body)


def ia(rule_id: str, kind: str, t: Traffic, nth: int = 0) -> Verdict:
    return check(rule_id, kind, t, nth, contract=IA)

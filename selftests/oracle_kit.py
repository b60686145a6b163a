"""Hand-built traces for the oracle unit tests, and running one real check alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jobcontracts.contract import Contract
from jobcontracts.loader import load_contract
from jobcontracts.oracles import REGISTRY, Verdict
from jobcontracts.oracles.context import Context
from jobcontracts.trace import Exchange, Trace

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
CONTRACT = load_contract(CONTRACTS / "specstep.yaml")
POS = load_contract(CONTRACTS / "pos_adapter_scripts.yaml")
BASE = "https://api.test"


class Traffic:
    """A trace under construction: each call appends one exchange `wait` s after the last."""

    START = 1_000.0

    def __init__(self) -> None:
        self.trace = Trace()
        self.now = self.START

    def __call__(self, method: str, path: str, status: int = 200, body: Any = None, *,
                 req: Any = None, raw: bytes | None = None, ctype: str | None = "application/json",
                 headers: dict[str, str] | None = None, key: str | None = None,
                 credential: str = "valid", origin: str = "api", url: str | None = None,
                 wait: float = 1.0, error: str | None = None) -> Exchange:
        self.now += wait
        if raw is None:
            raw = b"" if body is None else json.dumps(body).encode()
        response_headers = {"Content-Type": ctype} if ctype else {}
        ex = Exchange(
            seq=self.trace.next_seq(), method=method, url=url or BASE + path,
            request_headers={} if key is None else {"Idempotency-Key": key},
            request_body=b"" if req is None else json.dumps(req).encode(), status=status,
            response_headers={**response_headers, **(headers or {})}, response_body=raw,
            started_at=self.now, finished_at=self.now + 0.1, origin=origin,
            credential=credential, error=error)
        self.trace.append(ex)
        return ex


def check(rule_id: str, kind: str, t: Traffic, nth: int = 0,
          contract: Contract = CONTRACT) -> Verdict:
    """Run the `nth` check of `kind` in the real rule `rule_id`, alone, over the trace."""
    found = [c for c in contract.rule(rule_id).checks if c.kind == kind][nth]
    spec = REGISTRY[kind]
    verdict = Verdict(rule_id)
    spec.fn(t.trace, spec.params.model_validate(found.raw_params), Context(contract, t.trace),
            verdict)
    return verdict


def ok(v: Verdict, reached: int | None = None) -> None:
    assert not v.violations, "\n".join(x.render() for x in v.violations)
    assert v.reached > 0 if reached is None else v.reached == reached


def broken(v: Verdict, *seqs: int, says: str = "") -> None:
    assert v.violations, f"{v.rule}: expected a violation"
    for x in v.violations:
        assert x.rule == v.rule and x.render().startswith(f"{v.rule} ")
    assert {ex.seq for x in v.violations for ex in x.exchanges} == set(seqs)
    assert any(says in x.why for x in v.violations), [x.why for x in v.violations]


JOBS = "/api/v1/adapter-scripts/jobs"
T0 = "2026-01-05T09:00:00.000Z"


def pos_job(status: str = "running", stage: str = "gathering", **fields: Any) -> dict[str, Any]:
    """A POS job as the OpenAPI document has it (every key, the right types)."""
    return {"id": 7, "provider": "Square", "topic": "sales", "status": status, "stage": stage,
            "hypothesis": "", "testResults": [], "clarification": "", "humanResponse": "",
            "logs": [{"stage": "queued", "message": "Queued", "timestamp": T0}],
            "retries": 0, "resultScriptId": 0, "createdAt": T0, "updatedAt": T0, **fields}


class PosTraffic(Traffic):
    def job(self, status: str = "running", stage: str = "gathering", *, job_id: str = "7",
            envelope: dict[str, Any] | None = None, **fields: Any) -> Exchange:
        """A 200 poll of job `job_id` showing `status`, `stage` and `fields`."""
        body = {"code": 200, "isSuccess": True, "message": "ok",
                "job": pos_job(status, stage, **fields), **(envelope or {})}
        return self("GET", f"{JOBS}/{job_id}", 200, body)

    def respond(self, status: int = 409, text: Any = "Use v2.", *, job_id: str = "7",
                body: Any = None) -> Exchange:
        answer = body if body is not None else error(status) if status >= 400 else None
        return self("POST", f"{JOBS}/{job_id}/respond", status, answer,
                    req={"humanResponse": text})


def error(status: int, details: str = "no") -> dict[str, Any]:
    """The POS error envelope."""
    return {"error": {"code": status, "message": "Error", "details": details, "field": ""}}

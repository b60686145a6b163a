"""Hand-built traffic of the convert/goal jobs API, for the oracle unit tests:
lawful bodies of every SDK model, and requests with their own headers
(a multipart upload) or WebSocket messages."""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from jobcontracts.contract import Contract
from jobcontracts.loader import ContractError, load_contract
from jobcontracts.oracles.registry import Verdict
from jobcontracts.trace import Exchange, WsMessage

from .oracle_kit import BASE, CONTRACTS, Traffic
from .oracle_kit import check as run_check

JOBS_YAML = CONTRACTS / "jobs.yaml"
EVT_BLOCK = re.compile(r"  # ==== BEGIN EVENT STREAM RULES.*?# ==== END EVENT STREAM RULES[^\n]*\n",
                       re.DOTALL)
T0 = "2026-01-05T09:00:00Z"
T1 = "2026-01-05T09:00:05+00:00"
T2 = "2026-01-05T09:00:09.250Z"
ERROR = {"error": {"code": "conflict", "message": "no"}}


def without_event_rules(text: str) -> str:
    """The contract text with its marked JOB-EVT-* block (and the reached_with
    lines that name those rules) removed."""
    kept = [line for line in EVT_BLOCK.sub("", text).splitlines(keepends=True)
            if not line.rstrip().endswith("# EVENT STREAM RULE")]
    return "".join(kept)


@cache
def jobs_contract() -> Contract:
    """contracts/jobs.yaml; without its JOB-EVT-* block if the loader does not
    know the WebSocket kinds yet."""
    try:
        return load_contract(JOBS_YAML)
    except ContractError as exc:
        if "unknown rule kind 'ws_" not in str(exc):
            raise
    path = Path(tempfile.mkdtemp()) / "jobs.yaml"
    path.write_text(without_event_rules(JOBS_YAML.read_text(encoding="utf-8")), encoding="utf-8")
    return load_contract(path)


def check(rule_id: str, kind: str, t: Traffic, nth: int = 0) -> Verdict:
    """Run the `nth` check of `kind` in the jobs contract's rule `rule_id`, alone."""
    return run_check(rule_id, kind, t, nth, contract=jobs_contract())


# ---- lawful bodies ------------------------------------------------------------------------


def file_body(**fields: Any) -> dict[str, Any]:
    return {"file_id": "f1", "filename": "a.txt", "size": 5, "content_type": "text/plain",
            "created_at": T0, "job_id": None, "is_input": True, **fields}


def result_file(**fields: Any) -> dict[str, Any]:
    return {"filename": "a.md", "size": 3, "mimetype": "text/markdown",
            "url": "https://files.test/r/a.md?sig=x", **fields}


def convert_body(status: str = "queued", **fields: Any) -> dict[str, Any]:
    started = None if status == "queued" else T1
    done = status in ("completed", "failed")
    return {"job_id": "c1", "status": status, "processor_type": "ocr",
            "progress": {"queued": 0, "processing": 40}.get(status, 100),
            "progress_message": None,
            "result_files": [result_file()] if status == "completed" else None,
            "error": {"code": "bad_input", "message": "no"} if status == "failed" else None,
            "retry_count": 0, "created_at": T0, "updated_at": T2 if done else T1,
            "started_at": started, "completed_at": T2 if done else None,
            "estimated_duration": 30, **fields}


def slot(slot_id: str = "tone", options: Any = ("formal", {"value": "casual"}),
         required: bool = True, **fields: Any) -> dict[str, Any]:
    return {"slot_id": slot_id, "slot_type": "choice" if options else "text",
            "question": f"{slot_id}?", "options": None if options is None else list(options),
            "required": required, "is_disambiguation": False, "suggested_value": None,
            "suggested_confidence": None, **fields}


def goal_body(status: str = "analyzing", **fields: Any) -> dict[str, Any]:
    terminal = status in ("completed", "partial", "failed", "cancelled")
    return {"job_spec_id": "g1", "status": status, "progress": 100 if terminal else 10,
            "item_version": 1, "attempt_id": None, "goal_text": "a plain goal",
            "workflow_id": None, "file_ids": ["f1"],
            "pending_slots": [slot(), slot("name", None)] if status == "slots_pending" else [],
            "filled_slots": {}, "pending_interrupts": [], "agent_message": None,
            "error_message": "boom" if status == "failed" else None,
            "error_code": "E_FAIL" if status == "failed" else None,
            "created_at": T0, "updated_at": T1,
            "started_at": T1 if status in ("executing", "completed", "partial") else None,
            "completed_at": T2 if terminal else None, **fields}


def workflow_body(**fields: Any) -> dict[str, Any]:
    return {"workflow_id": "w1", "owner_id": None, "spec_id": "s1", "source_spec_id": None,
            "source_type": "curated", "name": "Summarise", "description": None,
            "visibility": "public", "tags": ["pdf"],
            "stats": {"run_count": 3, "fork_count": 1, "like_count": 7},
            "item_version": 4, **fields}


def quota_body(total: int = 500, low: int = 400, high: int = 800, state: str = "ok",
               tools: tuple[str, ...] = ("web_search",), **check: Any) -> dict[str, Any]:
    return {"estimated_micro_u": total, "estimated_usd": 0.0005,
            "estimated_total_micro_u": total, "estimated_min_micro_u": low,
            "estimated_max_micro_u": high,
            "tools": [{"tool_name": t, "per_invocation_micro_u": 100} for t in tools],
            "quota_check": {"state": state, "tier": "free", "estimated_micro_u": total,
                            "threshold_micro_u": 1000,
                            "upgrade_url": None if state == "ok" else "https://x.test/up",
                            **check}}


def event(kind: str = "progress", seq: int = 1, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "schema_version": 1, "job_spec_id": "g1", "emitted_at": T1,
            "seq": seq, "data": {}, **fields}


# ---- traffic ------------------------------------------------------------------------------


class JobsTraffic(Traffic):
    def replace_last(self, **changes: Any) -> Exchange:
        ex = dataclasses.replace(self.trace.exchanges[-1], **changes)
        self.trace.exchanges[-1] = ex
        return ex

    def upload(self, status: int = 201, answer: Any = None, *, files: Any = None,
               data: Any = None) -> Exchange:
        """A multipart POST /v1/files, encoded as httpx encodes it."""
        request = httpx.Request("POST", BASE + "/v1/files", files=files, data=data)
        self("POST", "/v1/files", status, answer)
        return self.replace_last(request_body=request.read(),
                                 request_headers=dict(request.headers))

    def ws(self, messages: list[Any], job: str = "g1") -> Exchange:
        self("GET", f"/v1/goals/{job}/events", 101, None, ctype=None)
        received = tuple(WsMessage("receive", self.now + i * 0.01,
                                   m if isinstance(m, str) else json.dumps(m))
                         for i, m in enumerate(messages))
        return self.replace_last(ws_messages=received, ws_close_code=1000)

    def convert(self, status: str = "queued", **fields: Any) -> Exchange:
        return self("GET", "/v1/convert/c1", 200, convert_body(status, **fields))

    def goal(self, status: str = "analyzing", wait: float = 1.0, **fields: Any) -> Exchange:
        return self("GET", "/v1/goals/g1", 200, goal_body(status, **fields), wait=wait)

    def action(self, name: str, code: int = 200, body: Any = None, **fields: Any) -> Exchange:
        """POST /v1/goals/g1/<name> (confirm, cancel), no body; a 200 answers the
        job with `fields`."""
        answer = body if body is not None else (goal_body(**fields) if code == 200 else ERROR)
        return self("POST", f"/v1/goals/g1/{name}", code, answer)

    def fill(self, slot_id: str, value: Any, status: int = 200, answer: Any = None) -> Exchange:
        return self("POST", f"/v1/goals/g1/slots/{slot_id}", status,
                    answer if answer is not None or status == 200 else ERROR,
                    req={"value": value})

    def workflow(self, **fields: Any) -> Exchange:
        return self("GET", "/v1/workflows/w1", 200, workflow_body(**fields))

    def like(self, liked: Any, count: Any, status: int = 200) -> Exchange:
        return self("POST", "/v1/workflows/w1/like", status,
                    {"liked": liked, "like_count": count} if status == 200 else ERROR)

    def patch(self, version: Any, status: int, answer: Any = None, **fields: Any) -> Exchange:
        return self("PATCH", "/v1/workflows/w1", status,
                    answer if answer is not None else ERROR, req={"item_version": version,
                                                                  **fields})

    def search(self, items: list[str], cursor: str | None, query: str = "q=pdf",
               raw: Any = None) -> Exchange:
        body = raw if raw is not None else {"items": [{"workflow_id": i} for i in items],
                                            "cursor": cursor}
        return self("GET", "/v1/workflows", 200, body, url=f"{BASE}/v1/workflows?{query}")

    def quota(self, query: str, body: Any) -> Exchange:
        return self("GET", "/v1/account/quota", 200, body,
                    url=f"{BASE}/v1/account/quota?{query}")

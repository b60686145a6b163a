"""Self-tests of the oracle engine as a whole (jobcontracts.oracles): the
registry, `judge_trace` on clean, garbage and crashing input, and the small
helpers every oracle leans on (`json_equal`, `holds`, `PathTemplate`, `Context`).

The rule kinds one by one: test_oracles_projection.py, test_oracles_requests.py,
test_oracles_http.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from jobcontracts.contract import Contract
from jobcontracts.loader import load_contract
from jobcontracts.oracles import REGISTRY, Kind, judge_trace
from jobcontracts.oracles.context import Context, holds, json_equal
from jobcontracts.trace import ABSENT, NOT_JSON, Exchange, PathTemplate, Trace, lookup

CONTRACT = load_contract(Path(__file__).resolve().parents[1] / "contracts" / "specstep.yaml")
BASE = "https://api.test"
PAUSED = "PausedAwaitingClarification"
INTAKE = "0b6f3a52-1c4e-4c8e-9f1a-2d3e4f5a6b7c"
#: Ids as the C# sample's records type them (`Guid`): interview, turn job, generation.
I1, J1, G1 = ("1a6f3a52-1c4e-4c8e-9f1a-2d3e4f5a6b7c", "2b6f3a52-1c4e-4c8e-9f1a-2d3e4f5a6b7c",
              "3c6f3a52-1c4e-4c8e-9f1a-2d3e4f5a6b7c")
PKG = "5f0c6b1e-8a53-4b8e-9d6a-0c2a1b3c4d5e"
KINDS = {
    "required_keys", "enum", "field_type", "present_iff", "value_when", "non_decreasing",
    "terminal_absorbing", "transitions", "fields_equal", "status_for", "no_side_effect",
    "state_after", "leaves_state_within", "agrees_with", "idempotent_replay",
    "all_or_nothing_batch", "json_content", "no_server_error", "error_body", "retry_after",
    "served_after_wait", "redirect_download",
    "openapi_response", "sequence", "list_count", "list_order", "fields_ordered",
    "list_items", "links_resolve", "sse_grammar", "sse_order", "sse_sequence", "sse_counters",
    "sse_agrees_with_status", "sse_resume", "sse_data_types", "sse_connected_status",
    "sse_echo", "sse_count", "sse_enum", "sse_transcripts",
    "model_conformance", "datetime_offsets", "gated_action", "time_non_decreasing",
    "non_null_after", "field_compare", "slot_fill", "upload_echo", "presigned_files",
    "toggle", "optimistic_lock", "cursor_pagination", "monotone_estimate", "query_rows",
    "agrees_with_one", "ws_events", "ws_agrees_with_job", "ws_resumption",
    "racing_idempotency_keys", "racing_batches", "distinct_ids", "under_load", "latency_p95",
}


class Traffic:
    """A trace under construction: each call appends one exchange `wait` s after the last."""

    def __init__(self) -> None:
        self.trace = Trace()
        self.now = 1_700_000_000.0

    def __call__(self, method: str, path: str, status: int = 200, body: Any = None, *,
                 req: Any = None, raw: bytes | None = None, ctype: str | None = "application/json",
                 headers: dict[str, str] | None = None, req_headers: dict[str, str] | None = None,
                 credential: str = "valid", origin: str = "api", url: str | None = None,
                 wait: float = 1.0) -> Exchange:
        self.now += wait
        if raw is None:
            raw = b"" if body is None else json.dumps(body).encode()
        ex = Exchange(seq=self.trace.next_seq(), method=method, url=url or BASE + path,
                      request_headers=req_headers or {},
                      request_body=req if isinstance(req, bytes) else
                      b"" if req is None else json.dumps(req).encode(),
                      status=status,
                      response_headers={**({"Content-Type": ctype} if ctype else {}),
                                        **(headers or {})},
                      response_body=raw, started_at=self.now, finished_at=self.now + 0.1,
                      origin=origin, credential=credential)
        self.trace.append(ex)
        return ex


def gen(state: str, **fields: Any) -> dict[str, Any]:
    return {"id": "g1", "state": state, "package_id": None, "progress_percent": 0,
            "phase_detail": None, "progress_explanation": None, "running_cost_usd": 0.0,
            "billing_state": "Accruing", "estimated_time_remaining_seconds": None,
            "estimated_completion_at": None, "retry_count": 0,
            "recoverable_error_category": None, "next_retry_at": None,
            "host_restart_resume_count": 0, **fields}


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.md", "# package\n")
    return buffer.getvalue()


def every_violation(outcomes: dict[str, Any]) -> list[str]:
    return [v.render() for o in outcomes.values() for v in o.violations]


# ---- the registry --------------------------------------------------------------------


def test_registry_holds_every_kind() -> None:
    assert set(REGISTRY) == KINDS
    for name, kind in REGISTRY.items():
        assert kind.name == name and kind.doc, name
        assert issubclass(kind.params, BaseModel)
        assert kind.params.model_config.get("extra") == "forbid", name


# ---- judge_trace ---------------------------------------------------------------------


def test_a_conforming_trace_breaks_no_rule() -> None:
    t = Traffic()
    key = {"Idempotency-Key": "turn-1"}
    opening = {"role": "agent", "content": "What are we building?"}
    user = {"role": "user", "content": "hi"}
    t("GET", "/v1/me", 200, {"id": "u1"})
    t("POST", "/v1/interviews", 201,
      {"id": I1, "status": "Active", "turns": [opening], "intake_artifact_id": None})
    t("POST", f"/v1/interviews/{I1}/turns", 202,
      {"job_id": J1, "interview_id": I1, "status": "queued", "snapshot": None},
      req={"message": "hi"}, req_headers=key)
    snapshot = {"id": I1, "turns": [opening, user, {"role": "agent", "content": "ok"}]}
    t("GET", f"/v1/interviews/turns/{J1}", 200,
      {"job_id": J1, "interview_id": I1, "status": "completed", "snapshot": snapshot,
       "error_code": None, "is_retryable": None})
    t("POST", f"/v1/interviews/{I1}/turns", 200, {"job_id": None, "snapshot": snapshot},
      req={"message": "hi"}, req_headers=key)
    t("GET", f"/v1/interviews/{I1}", 200, {**snapshot, "status": "Active",
                                        "intake_artifact_id": None})
    done = {**snapshot, "status": "Completed", "intake_artifact_id": INTAKE}
    t("POST", f"/v1/interviews/{I1}/complete", 200, done)
    t("GET", f"/v1/interviews/{I1}", 200, done)
    t("POST", "/v1/generations", 202, gen("Queued", id=G1),
      req={"intake_id": INTAKE, "review_profile": "Standard"})
    t("GET", f"/v1/generations/{G1}", 200, gen("Running", id=G1, progress_percent=20))
    t("GET", f"/v1/generations/{G1}", 200, gen(PAUSED, id=G1, progress_percent=40))
    t("GET", f"/v1/generations/{G1}/clarifications", 200,
      {"state": PAUSED, "clarifications": [
          {"agent": "architect", "section": None, "question": "Which database?", "why": None,
           "proposedDefault": None}]})
    t("GET", f"/v1/generations/{G1}", 200, gen(PAUSED, id=G1, progress_percent=40))
    t("POST", f"/v1/generations/{G1}/clarifications/answers", 200, {"accepted": 1},
      req={"answers": [{"question": "Which database?", "answer": "Postgres"}]})
    t("GET", f"/v1/generations/{G1}", 200, gen("Running", id=G1, progress_percent=60), wait=15)
    complete = gen("Complete", id=G1, progress_percent=100, package_id=PKG, running_cost_usd=1.25,
                   estimated_time_remaining_seconds=0)
    t("GET", f"/v1/generations/{G1}", 200, complete)
    t("GET", f"/v1/generations/{G1}", 200, complete)
    t("GET", f"/v1/packages/{PKG}/zip", 302, ctype=None,
      headers={"Location": "https://files.test/p.zip"})
    t("GET", "", 200, raw=a_zip(), ctype="application/zip", url="https://files.test/p.zip",
      origin="external", credential="none")
    t("GET", "/v1/me", 429, {"error": {"code": "RATE_LIMITED", "message": "slow down"}},
      headers={"Retry-After": "1"})
    t("GET", "/v1/me", 200, {"id": "u1"}, wait=2)
    t("GET", "/v1/me", 401, {"error": {"code": "UNAUTHORIZED", "message": "key?"}},
      credential="missing")

    outcomes = judge_trace(CONTRACT, t.trace)
    assert set(outcomes) == {rule.id for rule in CONTRACT.rules}
    assert every_violation(outcomes) == []
    reached = {rule_id for rule_id, o in outcomes.items() if o.reached}
    assert reached >= {
        "SS-HTTP-1", "SS-ERR-1", "SS-TURN-1", "SS-INT-1", "SS-IDEM-2", "SS-GEN-1",
        "SS-PROJ-0", "SS-PROJ-1", "SS-PROJ-3", "SS-PROJ-7", "SS-CLAR-1", "SS-CLAR-2",
        "SS-PKG-1", "SS-RATE-1", "SS-RATE-3",
    }
    assert outcomes["SS-CLAR-3"].unreached_checks() == ["all_or_nothing_batch (check 1)",
                                                        "no_side_effect (check 2)"]


def test_an_oracle_that_raises_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(trace: Any, params: Any, ctx: Any, verdict: Any) -> None:
        raise KeyError("surprise")

    real = REGISTRY["no_server_error"]
    monkeypatch.setitem(REGISTRY, "no_server_error", Kind(real.name, real.params, boom, ""))
    contract = Contract.model_validate({
        **CONTRACT.model_dump(exclude={"rules"}),
        "rules": [{"id": "XX-BOOM-1", "source": "assumed", "description": "Explodes.",
                   "checks": [{"kind": "no_server_error"}, {"kind": "retry_after"}]}],
    })
    t = Traffic()
    t("GET", "/v1/me", 200, {"id": "u1"})
    outcome = judge_trace(contract, t.trace)["XX-BOOM-1"]
    assert outcome.checks_reached == [0, 0]
    assert not outcome.reached
    [violation] = outcome.violations
    assert violation.rule == "XX-BOOM-1" and violation.exchanges == ()
    assert violation.why.startswith("could not be judged: no_server_error raised KeyError: "
                                    "'surprise' (")
    assert "test_oracles.py:" in violation.why


def test_garbage_answers_are_violations_not_exceptions() -> None:
    t = Traffic()
    html = b"<html><body>Bad Gateway</body></html>"
    t("GET", "/v1/generations/g1", 200, raw=html, ctype="text/html")  # 1
    t("GET", "/v1/generations/g1", 200, raw=b'{"id": "g1", "state": "Runn')  # 2: truncated
    t("GET", "/v1/generations/g1", 200, gen("Running"), ctype="text/plain")  # 3
    t("GET", "/v1/me", 200, raw=b"\x00\xff\xfe binary")  # 4
    t("GET", "/v1/generations/g9", 404, raw=html, ctype="text/html")  # 5
    t("POST", "/v1/generations", 400, [], req={"intake_id": INTAKE, "review_profile": "x"})  # 6
    t("POST", "/v1/interviews/i1/turns", 422, ctype=None, req=b"\xff not json",
      req_headers={"Idempotency-Key": "k"})  # 7: empty body
    t("GET", "/v1/generations/g1", 200,  # 8: JSON of every wrong shape
      {"id": "g1", "state": ["Running"], "progress_percent": "lots", "package_id": {"a": 1},
       "retry_count": None, "next_retry_at": 5, "running_cost_usd": "free"})
    t("GET", "/v1/generations/g1", 200,  # 9: NaN and Infinity parse as floats
      raw=b'{"id": "g1", "state": {"x": 1}, "progress_percent": NaN, "retry_count": Infinity}')
    t("GET", "/v1/generations/g1/clarifications", 200, {"state": {}, "clarifications": "none"})
    t("GET", "/v1/interviews/turns/j1", 200, ["not", "an", "object"])
    t("GET", "/v1/interviews/i1", 200, {"id": "i1", "turns": "many", "status": None})
    t("POST", "/v1/generations/g1/clarifications/answers", 200, {},
      req={"answers": [{"question": ["Q"]}, 7]})
    t("GET", "/v1/packages/p1/zip", 302, ctype=None, headers={"Location": "::::"})
    t("GET", "", 200, raw=b"PK\x03\x04 truncated", ctype="application/zip",
      url=BASE + "/v1/packages/p1/::::", origin="external", credential="none")
    t("GET", "/v1/me", 429, {"error": {"code": "R", "message": "m"}},
      headers={"Retry-After": "²"})
    t("GET", "/v1/me", 429, {"error": {"code": "R", "message": "m"}},
      headers={"Retry-After": "Mon, 99 Foo 20xx"})

    outcomes = judge_trace(CONTRACT, t.trace)
    crashed = [v for v in every_violation(outcomes) if "could not be judged" in v]
    assert crashed == []
    http = {ex.seq for v in outcomes["SS-HTTP-1"].violations for ex in v.exchanges}
    assert {1, 2, 3, 4} <= http
    errors = {ex.seq for v in outcomes["SS-ERR-1"].violations for ex in v.exchanges}
    assert errors == {5, 6, 7}  # the 429 bodies are well-formed errors
    assert any("Content-Type is 'text/html'" in v.why for v in outcomes["SS-HTTP-1"].violations)
    rate = {ex.seq for v in outcomes["SS-RATE-1"].violations for ex in v.exchanges}
    assert rate == {16, 17}
    assert {ex.seq for v in outcomes["SS-PKG-1"].violations for ex in v.exchanges} == {14, 15}


# ---- json_equal, holds, lookup -------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "equal"), [
    (True, 1, False), (1, True, False), (False, 0, False), (True, True, True),
    (1, 1.0, True), (0, -0.0, True), (1, "1", False), (None, None, True), (None, 0, False),
    ("a", "a", True), ("a", "A", False), ([1, True], [1.0, True], True),
    ([1, True], [1, 1], False), ([1], [1, 1], False), ({"a": 1}, {"a": 1.0}, True),
    ({"a": True}, {"a": 1}, False), ({"a": 1}, {"a": 1, "b": 2}, False),
    (float("nan"), float("nan"), False), ([], {}, False),
])
def test_json_equal(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal


BODY = {"state": "Running", "count": 1, "flag": True, "none": None, "empty": [],
        "items": [{"q": "x"}], "nested": {"code": "E"}}


@pytest.mark.parametrize(("cond", "result"), [
    (None, True), ({}, True), ({"state": "Running"}, True), ({"state": "running"}, False),
    ({"count": 1.0}, True), ({"count": True}, False), ({"flag": 1}, False),
    ({"nested.code": "E"}, True), ({"items.0.q": "x"}, True),
    ({"state": "Running", "count": 2}, False),
    ({"state": {"in": ["Queued", "Running"]}}, True), ({"state": {"in": []}}, False),
    ({"flag": {"in": [1, 0]}}, False), ({"count": {"in": [True]}}, False),
    ({"state": {"not_in": ["Queued"]}}, True), ({"state": {"not_in": ["Running"]}}, False),
    ({"missing": {"not_in": ["x"]}}, False), ({"flag": {"not_in": [1]}}, True),
    ({"none": {"null": True}}, True), ({"missing": {"null": True}}, True),
    ({"count": {"null": True}}, False), ({"count": {"null": False}}, True),
    ({"count": {"not_null": True}}, True), ({"none": {"not_null": True}}, False),
    ({"missing": {"not_null": True}}, False), ({"none": {"not_null": False}}, True),
    ({"items": {"non_empty": True}}, True), ({"empty": {"non_empty": True}}, False),
    ({"none": {"non_empty": True}}, False), ({"state": {"non_empty": True}}, True),
    ({"empty": {"non_empty": False}}, True), ({"empty": {"empty": True}}, True),
    ({"nested": {"code": "E"}}, True), ({"nested": {"code": "F"}}, False),
    ({"state": {"in": ["Running"], "not_null": True}}, True),
])
def test_holds(cond: Any, result: bool) -> None:
    assert holds(BODY, cond) is result


def test_holds_on_a_body_that_is_not_an_object() -> None:
    assert holds(NOT_JSON, {"state": {"null": True}})
    assert not holds(["Running"], {"state": "Running"})
    assert lookup(BODY, "items.1.q") is ABSENT and lookup(BODY, "items.0") == {"q": "x"}


# ---- PathTemplate --------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params"), [
    ("/v1/interviews/i1/turns", {"interview_id": "i1"}),
    ("/v1/interviews/i1/turns/", {"interview_id": "i1"}),
    ("/v1/interviews/a%20b/turns", {"interview_id": "a%20b"}),
    ("/v1/interviews/i1", None), ("/v1/interviews//turns", None),
    ("/v1/interviews/i1/turns/x", None), ("/v1/interviews/a/b/turns", None),
    ("/V1/interviews/i1/turns", None), ("/prefix/v1/interviews/i1/turns", None),
])
def test_path_template_match(path: str, params: dict[str, str] | None) -> None:
    assert PathTemplate("/v1/interviews/{interview_id}/turns").match(path) == params


def test_path_template_fill_and_params() -> None:
    template = PathTemplate("/v1/generations/{generation_id}/clarifications/{n}")
    assert template.params == ("generation_id", "n")
    filled = template.fill(generation_id="g1", n="2")
    assert filled == "/v1/generations/g1/clarifications/2"
    assert template.match(filled) == {"generation_id": "g1", "n": "2"}
    assert PathTemplate("/v1/me.json").match("/v1/meXjson") is None  # dots are literal
    with pytest.raises(KeyError):
        template.fill(generation_id="g1")
    with pytest.raises(ValueError, match="must start with '/'"):
        PathTemplate("v1/me")


# ---- Context -------------------------------------------------------------------------


def test_context_groups_records_and_finds_neighbours() -> None:
    t = Traffic()
    t("GET", "/v1/generations/g1", 200, gen("Queued"))  # 1
    t("GET", "/v1/generations/g2", 200, gen("Queued", id="g2"))  # 2
    t("GET", "/v1/generations/g1", 200, gen("Running"))  # 3
    t("GET", "/v1/generations/g1", 503, gen("Running"))  # 4: not a source status
    t("GET", "/v1/generations/g1", 200, gen("Complete", package_id=PKG))  # 5
    t("GET", "/v1/generations/g1/clarifications", 200, {"state": "Running"})  # 6
    ctx = Context(CONTRACT, t.trace)
    records = ctx.records("generation")
    assert {k: [o.seq for o in v] for k, v in records.items()} == {"g1": [1, 3, 5], "g2": [2]}
    assert [o.seq for o in ctx.records("clarifications")["g1"]] == [6]
    before, after = ctx.around("generation", "g1", 3)
    assert (before and before.seq, after and after.seq) == (1, 5)
    before, after = ctx.around("generation", "g1", 4)
    assert (before and before.seq, after and after.seq) == (3, 5)
    assert ctx.around("generation", "g1", 6) == (records["g1"][-1], None)
    assert ctx.around("generation", "g9", 3) == (None, None)
    assert [ex.seq for ex, _ in ctx.requests("get_clarifications")] == [6]
    assert len(ctx.requests("*")) == 6

"""Self-tests of the jobs contract's marketplace, billing and pairwise rule
kinds (toggles, pairs), and that no kind the jobs contract adds raises on
garbage.

Each kind runs alone, with the params of a real `contracts/jobs.yaml` check,
over a hand-built trace (see test_oracles_jobs.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from jobcontracts.oracles.registry import Verdict

from .jobs_oracle_kit import (
    ERROR,
    JobsTraffic,
    check,
    convert_body,
    jobs_contract,
    quota_body,
    workflow_body,
)
from .oracle_kit import broken, ok

# ---- JOB-MKT-4, JOB-MKT-5: the document's own marketplace sentences ----------------------


def test_source_type_is_null_or_one_of_the_three() -> None:
    t = JobsTraffic()
    for source_type in ("curated", "user", "blank", None):
        t.workflow(source_type=source_type)
    ok(check("JOB-MKT-4", "enum", t), reached=4)
    t.workflow(source_type="template")
    broken(check("JOB-MKT-4", "enum", t), 5, says="source_type='template' is not one of")


def test_a_search_row_is_light_weight() -> None:
    t = JobsTraffic()
    row = {"workflow_id": "wf_1", "name": "n", "stats": {"like_count": 1}}
    t("GET", "/v1/workflows", 200, {"items": [row, {**row, "workflow_id": "wf_2"}],
                                    "cursor": None})
    t("GET", "/v1/workflows", 200, {"items": [], "cursor": None})
    ok(check("JOB-MKT-5", "list_items", t), reached=2)
    t("GET", "/v1/workflows", 200, {"items": [row, {**row, "spec_json": {}}], "cursor": None})
    broken(check("JOB-MKT-5", "list_items", t), 3, says="items[1] carries ['spec_json']")


# ---- toggle (JOB-MKT-2) --------------------------------------------------------------------


def test_likes_toggle_by_one() -> None:
    t = JobsTraffic()
    t.workflow()                                   # like_count 7
    t.like(True, 8)
    t.workflow(stats={"run_count": 3, "fork_count": 1, "like_count": 8})
    t.like(False, 7)
    t.like(True, 8, status=429)                    # refused: changed nothing
    t.like(True, 8)
    ok(check("JOB-MKT-2", "toggle", t), reached=4)


@pytest.mark.parametrize(("second", "says"), [
    ((True, 9), "liked stayed True across two calls"),
    ((False, 6), "like_count went 8 → 6, not 7 (liked False)"),
])
def test_a_toggle_that_does_not_toggle(second: tuple[Any, Any], says: str) -> None:
    t = JobsTraffic()
    t.like(True, 8)
    t.like(*second)
    broken(check("JOB-MKT-2", "toggle", t), 1, 2, says=says)


def test_a_count_the_resource_does_not_show() -> None:
    t = JobsTraffic()
    t.workflow()
    t.like(True, 8)
    t.workflow()                                   # still 7
    broken(check("JOB-MKT-2", "toggle", t), 2, 3,
           says="like_count=8 but stats.like_count=7 read right after")


def test_toggle_garbage_and_unanswered_calls() -> None:
    t = JobsTraffic()
    t.like(True, 8)
    t("POST", "/v1/workflows/w1/like", 0, error="timeout")
    t.like(True, 9)                                # after an unknown call: a fresh start
    ok(check("JOB-MKT-2", "toggle", t), reached=0)
    t.like("yes", None)
    broken(check("JOB-MKT-2", "toggle", t), 4, says="not a boolean and an integer")


# ---- optimistic_lock (JOB-MKT-3) --------------------------------------------------------------


def test_the_current_version_wins_and_others_conflict() -> None:
    t = JobsTraffic()
    t.workflow()                                   # item_version 4
    t.patch(4, 200, workflow_body(item_version=5, name="New"), name="New")
    t.patch(4, 409, name="Old")
    t.workflow(item_version=5, name="New")
    ok(check("JOB-MKT-3", "optimistic_lock", t), reached=2)


@pytest.mark.parametrize(("sent", "status", "answer", "says"), [
    (4, 409, None, "item_version 4 is current: expected 200, got 409"),
    (4, 200, workflow_body(item_version=4), "the answer shows 4, not 5"),
    (3, 200, workflow_body(item_version=5), "item_version 3 sent, 4 current: expected 409"),
])
def test_a_lock_that_does_not_hold(sent: int, status: int, answer: Any, says: str) -> None:
    t = JobsTraffic()
    t.workflow()
    t.patch(sent, status, answer, name="New")
    broken(check("JOB-MKT-3", "optimistic_lock", t), 1, 2, says=says)


def test_a_refused_patch_that_wrote_anyway() -> None:
    t = JobsTraffic()
    t.workflow()
    t.patch(9, 409, name="New")
    t.workflow(name="New")
    broken(check("JOB-MKT-3", "optimistic_lock", t), 1, 2, 3, says="but ['name'] changed")


def test_optimistic_lock_skips_what_it_cannot_know() -> None:
    t = JobsTraffic()
    t.patch(4, 200, workflow_body(item_version=5))          # nothing read before
    t.workflow()
    t("PATCH", "/v1/workflows/w1", 0, error="timeout", req={"item_version": 4})
    t.patch(4, 409)                                          # the lost one may have landed
    t.patch("4", 422)                                        # not an integer
    t.patch(4, 400, extra_field=1)                           # not otherwise valid
    ok(check("JOB-MKT-3", "optimistic_lock", t), reached=0)


# ---- cursor_pagination (JOB-MKT-1) -----------------------------------------------------------


def test_pages_end_never_repeat_and_are_found() -> None:
    t = JobsTraffic()
    t.search(["w1", "w2"], "c2")
    t.search(["w3"], None, query="q=pdf&cursor=c2")
    t.search(["w9"], None, query="q=other&cursor=c2")        # another walk's cursor: ignored
    t.workflow(workflow_id="w1")
    t("GET", "/v1/workflows/w3", 200, workflow_body(workflow_id="w3"))
    ok(check("JOB-MKT-1", "cursor_pagination", t), reached=3)


@pytest.mark.parametrize(("items", "cursor", "raw", "seqs", "says"), [
    (["w2"], None, None, (1, 2), "items[0] repeats 'w2', listed on #1"),
    (["w3"], "c2", None, (2,), "cursor 'c2' was given before: the pages loop"),
    (["w3"], "", None, (2,), "is empty: a last page says null"),
    ([], None, {"items": "nope"}, (2,), "not a page"),
])
def test_pages_that_break(items: list[str], cursor: str | None, raw: Any,
                          seqs: tuple[int, ...], says: str) -> None:
    t = JobsTraffic()
    t.search(["w1", "w2"], "c2")
    t.search(items, cursor, "q=pdf&cursor=c2", raw)
    broken(check("JOB-MKT-1", "cursor_pagination", t), *seqs, says=says)


def test_a_listed_item_its_get_cannot_find() -> None:
    t = JobsTraffic()
    t.search(["w1"], None)
    t("GET", "/v1/workflows/w1", 404, ERROR)
    broken(check("JOB-MKT-1", "cursor_pagination", t), 1, 2,
           says="'w1' was listed, but its GET answers 404")


# ---- monotone_estimate and query_rows (JOB-BILL-2, JOB-BILL-1) ---------------------------------


def test_asking_for_more_never_costs_less() -> None:
    t = JobsTraffic()
    t.quota("tools=web_search&max_iterations=1", quota_body(500, 400, 800))
    t.quota("tools=web_search,ocr&max_iterations=1", quota_body(700, 500, 900))
    t.quota("tools=web_search&max_iterations=3", quota_body(1500, 1200, 2400))
    t.quota("tools=ocr&max_iterations=1&model=x", quota_body(1, 1, 1))  # other params differ
    ok(check("JOB-BILL-2", "monotone_estimate", t), reached=2)
    t.quota("tools=ocr,web_search,llm_call&max_iterations=5", quota_body(1400, 1300, 2400))
    broken(check("JOB-BILL-2", "monotone_estimate", t), 3, 5,
           says="asking for more (tools=web_search max_iterations=3 → "
                "tools=llm_call,ocr,web_search max_iterations=5): estimated_total_micro_u fell "
                "from 1500 to 1400")


def test_monotone_estimate_garbage() -> None:
    t = JobsTraffic()
    t.quota("tools=web_search&max_iterations=1", quota_body())
    t.quota("tools=web_search&max_iterations=2", {"estimated_min_micro_u": "many"})
    t.quota("tools=web_search&max_iterations=two", quota_body())     # not comparable
    t("GET", "/v1/account/quota", 200, raw=b"oops", url="https://api.test/v1/account/quota?"
                                                       "tools=web_search&max_iterations=9")
    v = check("JOB-BILL-2", "monotone_estimate", t)
    broken(v, 1, 2, 4, says="estimated_min_micro_u is 'many' in #2, not a number")


def test_one_tools_row_per_requested_tool() -> None:
    t = JobsTraffic()
    t.quota("tools=web_search,ocr,ocr&max_iterations=1", quota_body(tools=("ocr", "web_search")))
    ok(check("JOB-BILL-1", "query_rows", t), reached=1)
    t.quota("tools=web_search,ocr&max_iterations=1", quota_body(tools=("ocr", "ocr", "x")))
    t.quota("tools=web_search&max_iterations=1", {"tools": None})
    v = check("JOB-BILL-1", "query_rows", t)
    broken(v, 2, 3, says="no row for ['web_search']; rows nobody asked for: 'x'; more than "
                         "one row for ['ocr']")
    broken(v, 2, 3, says="tools is None, not a list")


def test_the_quota_tier_is_the_plans() -> None:
    t = JobsTraffic()
    t("GET", "/v1/account/plan", 200, {"tier": "free"})
    t.quota("tools=ocr&max_iterations=1", quota_body(tools=("ocr",)))
    ok(check("JOB-BILL-1", "agrees_with_one", t), reached=1)
    t("GET", "/v1/account/plan", 200, {"tier": "pro"})         # it changed: #2 proves nothing
    ok(check("JOB-BILL-1", "agrees_with_one", t), reached=0)
    t.quota("tools=ocr&max_iterations=1", quota_body(tools=("ocr",)))
    broken(check("JOB-BILL-1", "agrees_with_one", t), 3, 4,
           says="quota_check.tier='free' but the plan shows tier='pro'")


# ---- garbage never raises --------------------------------------------------------------------

JUNK: list[Any] = [None, 0, True, "x", [], {}, [1, "a", None], {"status": 7, "items": {}},
                   {"pending_slots": "many", "status": "slots_pending", "filled_slots": []},
                   {"result_files": [None, 3, {"url": 5, "size": "big"}], "status": "completed"},
                   {"liked": None, "like_count": [], "item_version": "v", "stats": 4},
                   {"tools": [None], "quota_check": "ok", "cursor": 5}]


def test_no_new_kind_raises_on_garbage() -> None:
    """Every check of the jobs contract whose kind this contract adds, called
    directly (not through judge_trace, which would turn a raise into a
    violation), over junk answers and requests on every endpoint."""
    from jobcontracts.oracles import REGISTRY
    from jobcontracts.oracles.context import Context

    contract = jobs_contract()
    t = JobsTraffic()
    paths = {"GET": ["/v1/files/f1", "/v1/convert/c1", "/v1/goals/g1", "/v1/workflows",
                     "/v1/workflows/w1", "/v1/account/plan", "/v1/account/quota?tools=a,&x"],
             "POST": ["/v1/files", "/v1/convert", "/v1/goals", "/v1/goals/g1/confirm",
                      "/v1/goals/g1/cancel", "/v1/goals/g1/slots/tone", "/v1/workflows/w1/like"],
             "PATCH": ["/v1/workflows/w1"]}
    for junk in JUNK:
        for method, urls in paths.items():
            for url in urls:
                path = url.partition("?")[0]
                for status in (200, 201, 202, 409):
                    t(method, path, status, junk, req=junk, url=f"https://api.test{url}")
        t("POST", "/v1/files", 201, junk, raw=b"\xff\x00", headers={})
        t.replace_last(request_headers={"content-type": "multipart/form-data; boundary=\"\""},
                       request_body=b"--\r\n\xff")
        t.ws(["{", "[]", '{"type": 5}'])
        t("GET", "/r/x", 200, junk, credential="none", origin="external")
    ctx = Context(contract, t.trace)
    for rule in contract.rules:
        for found in rule.checks:
            kind = REGISTRY[found.kind]
            if kind.fn.__module__.rpartition(".")[2] in {"models", "lifecycle", "slots",
                                                          "files", "toggles", "pairs"}:
                kind.fn(t.trace, kind.params.model_validate(found.raw_params), ctx,
                        Verdict(rule.id))


def test_gated_action_and_presigned_skip_unreadable_states() -> None:
    t = JobsTraffic()
    t.goal(status=42)
    t.action("confirm", 409)
    t("GET", "/v1/convert/c1", 200, convert_body("completed", result_files=[None, {"url": 3}]))
    ok(check("JOB-GOAL-2", "gated_action", t), reached=0)
    ok(check("JOB-CONV-3", "presigned_files", t), reached=0)

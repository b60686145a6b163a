"""Self-tests of the listing and link rule kinds (jobcontracts.oracles.resources)
and of the Interrogation Agent's request rules (status_for over catalog ids,
`absent` and `pattern` conditions), in their real rules of
contracts/interrogation.yaml."""

from __future__ import annotations

import pytest

from jobcontracts.oracles.context import holds, lookup_all

from .oracle_kit import broken, ok
from .sse_kit import SIM, IaTraffic, connected, ia

FIRST, SECOND = "adult_tech_consumer_30_45", "small_business_owner_35_55"
GOOD = {"user_input": "Churn is up.", "stakeholder_id": FIRST, "max_interview_messages": 8}


def test_lookup_all_and_the_new_operators() -> None:
    body = {"stakeholders": [{"id": "a"}, {"id": "b"}, {"title": "no id"}]}
    assert lookup_all(body, "stakeholders.*.id") == ["a", "b"]
    assert lookup_all(body, "stakeholders.0.id") == ["a"]
    assert lookup_all(body, "stakeholders.*.nothing") == []
    assert holds({}, {"x": {"absent": True}}) and not holds({"x": None}, {"x": {"absent": True}})
    assert holds({"x": "a b"}, {"x": {"pattern": r"\S"}})
    assert not holds({"x": " \t"}, {"x": {"pattern": r"\S"}})
    assert not holds({"x": 5}, {"x": {"pattern": r"\S"}})


# ---- list_items (IA-CAT-1) ---------------------------------------------------------------


def test_list_items() -> None:
    t = IaTraffic()
    t.catalog(FIRST, SECOND)
    ok(ia("IA-CAT-1", "list_items", t), reached=1)
    t("GET", "/api/stakeholders", 200, {"stakeholders": [{"id": FIRST, "title": "x"}]})
    t.catalog(FIRST, SECOND, FIRST)
    t("GET", "/api/stakeholders", 200, {"profiles": []})
    v = ia("IA-CAT-1", "list_items", t)
    broken(v, 2, 3, 4, says="stakeholders[0] ('adult_tech_consumer_30_45') lacks ['profile',")
    assert {x.why for x in v.violations} >= {
        f"id not unique: {FIRST!r}", "stakeholders is <absent>, not a list"}


# ---- status_for over the catalog (IA-CAT-1, IA-REQ-1, IA-REQ-2) --------------------------


def test_every_listed_id_is_accepted() -> None:
    t = IaTraffic()
    t.create({**GOOD, "stakeholder_id": SECOND})  # no catalog seen yet: not judged
    t.catalog(FIRST, SECOND)
    t.create({**GOOD, "stakeholder_id": SECOND}, status=200)
    t.create({**GOOD, "stakeholder_id": "someone_else"}, status=404)
    t.create({**GOOD, "stakeholder_profile": "p"})  # profile wins: not this check's
    ok(ia("IA-CAT-1", "status_for", t), reached=1)
    t.create({**GOOD, "stakeholder_id": SECOND}, status=404)
    broken(ia("IA-CAT-1", "status_for", t), 6, says="expected 200 or 201 or 202, got 404")


def test_unknown_stakeholder_needs_a_catalog_and_a_non_blank_id() -> None:
    unknown = 3  # the fourth status_for of IA-REQ-1
    t = IaTraffic()
    t.create({**GOOD, "stakeholder_id": "ghost"}, status=400)  # no catalog: unknown is unknown
    t.catalog(FIRST)
    t.create({**GOOD, "stakeholder_id": " "}, status=400)  # blank: may count as none
    t.create({**GOOD, "stakeholder_id": "ghost", "max_interview_messages": 41}, status=400)
    t.create({**GOOD, "stakeholder_id": "ghost"}, status=404)
    ok(ia("IA-REQ-1", "status_for", t, nth=unknown), reached=1)
    t.create({**GOOD, "stakeholder_id": "ghost"}, status=400)
    broken(ia("IA-REQ-1", "status_for", t, nth=unknown), 6, says="expected 404, got 400")


def test_refusals() -> None:
    t = IaTraffic()
    t.catalog(FIRST)
    cases = [  # (check of IA-REQ-1, body)
        (0, {"stakeholder_id": FIRST, "max_interview_messages": 8}),
        (1, {"stakeholder_profile": "p", "max_interview_messages": 41}),
        (2, {"user_input": "x", "max_interview_messages": 8}),
        (4, {**GOOD, "max_interview_messages": True}),
        (4, {**GOOD, "max_interview_messages": "8"}),
        (4, {**GOOD, "max_interview_messages": 1}),
        (5, {"user_input": "x", "stakeholder_profile": "p", "max_interview_messages": 40.5}),
    ]
    for _, body in cases:
        t.create(body, status=400)
    for nth in {n for n, _ in cases}:
        ok(ia("IA-REQ-1", "status_for", t, nth=nth))
    t.create({**GOOD, "max_interview_messages": 8.0}, status=202)  # integral float: not judged
    t.create({**GOOD, "max_interview_messages": None}, status=202)  # null: not judged
    t.create({**GOOD, "max_interview_messages": 41}, status=202)
    broken(ia("IA-REQ-1", "status_for", t, nth=4), 11, says="expected 400, got 202")


def test_accepted_requests_get_202() -> None:
    t = IaTraffic()
    t.catalog(FIRST, SECOND)
    t.create(GOOD)
    t.create({"user_input": "x", "stakeholder_profile": "I run a shop.",
              "max_interview_messages": 2})
    t.create({**GOOD, "stakeholder_id": SECOND}, status=404)  # IA-CAT-1's, not this rule's
    t.create({"user_input": "x", "stakeholder_profile": "  ", "max_interview_messages": 2},
             status=400)  # a blank profile may count as none
    for nth in range(3):
        ok(ia("IA-REQ-2", "status_for", t, nth=nth))
    t.create(GOOD, status=200)
    t.create({"user_input": "x", "stakeholder_profile": "I run a shop.",
              "max_interview_messages": 40}, status=400)
    broken(ia("IA-REQ-2", "status_for", t, nth=0), 6, says="expected 202, got 200")
    broken(ia("IA-REQ-2", "status_for", t, nth=2), 7, says="expected 202, got 400")


# ---- links_resolve (IA-REQ-2) ---------------------------------------------------------------


def test_links_resolve() -> None:
    t = IaTraffic()
    t.create(GOOD)
    ok(ia("IA-REQ-2", "links_resolve", t), reached=0)  # nobody followed them
    t.status()
    t.stream([connected()])
    ok(ia("IA-REQ-2", "links_resolve", t), reached=2)
    t = IaTraffic()
    t.create(GOOD, details_url=f"https://api.test/api/simulations/{SIM}/details")
    t("GET", f"/api/simulations/{SIM}/details", 404, {"detail": "Not Found"})
    broken(ia("IA-REQ-2", "links_resolve", t), 1, 2, says="details_url")


# ---- fields_equal with equals_key (IA-STAT-3) -------------------------------------------


def test_a_status_answer_is_of_the_simulation_its_url_names() -> None:
    t = IaTraffic()
    t.status()
    t.status("completed")
    ok(ia("IA-STAT-3", "fields_equal", t), reached=2)
    t.status("completed", simulation_id="someone-else")
    broken(ia("IA-STAT-3", "fields_equal", t), 3,
           says=f"simulation_id='someone-else' but the URL names '{SIM}'")


def test_fields_equal_takes_a_field_or_the_key_not_both() -> None:
    from pydantic import ValidationError

    from jobcontracts.oracles.projection import FieldsEqual

    FieldsEqual(record="r", left="a", right="b")
    FieldsEqual(record="r", left="a", equals_key=True)
    for bad in ({"right": "b", "equals_key": True}, {}):
        with pytest.raises(ValidationError, match="exactly one of"):
            FieldsEqual(record="r", left="a", **bad)

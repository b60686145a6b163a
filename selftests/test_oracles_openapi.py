"""Self-tests of the `openapi_response` rule kind (jobcontracts.oracles.openapi),
with the params of the real POS-SCHEMA-1 check over hand-built traces: once
satisfied, once violated, once with nothing to judge; and the document, loaded
as published, failing a contract load when it or an assumed status is wrong.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from jobcontracts.loader import ContractError, load_contract
from jobcontracts.oracles.openapi import _compile

from .oracle_kit import CONTRACTS, JOBS, POS, PosTraffic, broken, check, error, ok, pos_job

GENERATE = "/api/v1/adapter-scripts/generate"


def schema(t: PosTraffic):
    return check("POS-SCHEMA-1", "openapi_response", t, contract=POS)


def test_documented_and_assumed_answers_match() -> None:
    t = PosTraffic()
    t.job()
    t("GET", f"{JOBS}/999", 404, error(404))
    t("GET", f"{JOBS}/7", 401, error(401), credential="missing")
    t("GET", f"{JOBS}/abc", 400, error(400))
    t("POST", GENERATE, 202, {"jobId": 7}, req={"provider": "Square", "topic": "sales"})
    t("POST", GENERATE, 400, error(400), req={"provider": 5})
    t("POST", f"{JOBS}/7/respond", 200,
      {"code": 200, "isSuccess": True, "message": "ok", "job": pos_job()},
      req={"humanResponse": "v2"})
    t.respond(409)
    t.respond(404)
    ok(schema(t), reached=9)


def test_the_200_schema_named_with_spaces_and_braces_is_enforced() -> None:
    """The document's 200 `$ref` names a schema holding spaces and braces; it
    resolves as published, so each of its nested schemas bites."""
    t = PosTraffic()
    t.job(hypothesis=None)
    t.job(testResults=[{"attempt": 1, "passed": True}])
    t("GET", f"{JOBS}/7", 200, {"code": 200, "isSuccess": True, "message": "ok"})
    verdict = schema(t)
    broken(verdict, 1, 2, 3, says="job.hypothesis: None is not of type 'string'")
    whys = [v.why for v in verdict.violations]
    assert any("testResults.0" in why and "'error' is a required property" in why
               for why in whys), whys
    assert any("'job' is a required property" in why for why in whys), whys
    assert all("the 200 answer of GET /api/v1/adapter-scripts/jobs/{jobId}" in why
               for why in whys), whys


def test_a_bare_not_found_breaks_the_error_envelope() -> None:
    t = PosTraffic()
    t("GET", f"{JOBS}/999", 404, {"message": "Job not found"})
    broken(schema(t), 1, says="'error' is a required property (the 404 answer")


def test_an_undocumented_status_is_named_with_what_is_documented() -> None:
    t = PosTraffic()
    t("GET", f"{JOBS}/7", 302, None, headers={"Location": "/elsewhere"})
    broken(schema(t), 1, says="302 is not a status of GET /api/v1/adapter-scripts/jobs/{jobId} "
                              "(the document has 200, 404; the contract assumes 4XX)")


def test_assumed_answers_are_judged_too() -> None:
    t = PosTraffic()
    t("POST", GENERATE, 202, {"jobId": "7"}, req={"provider": "a", "topic": "b"})
    t("POST", GENERATE, 401, {"detail": "no key"}, credential="invalid")
    t("POST", GENERATE, 201, {"jobId": 7}, req={"provider": "a", "topic": "b"})
    verdict = schema(t)
    broken(verdict, 1, 2, 3, says="'7' is not of type 'integer'")
    assert any("201 is not a status of POST /api/v1/adapter-scripts/generate" in v.why
               for v in verdict.violations)


def test_media_type_and_json_body() -> None:
    t = PosTraffic()
    t("GET", f"{JOBS}/7", 200, raw=b"<html>ok</html>", ctype="text/html")
    t("GET", f"{JOBS}/7", 200, raw=b"{not json", ctype="application/json; charset=utf-8")
    verdict = schema(t)
    broken(verdict, 1, 2, says="Content-Type is 'text/html', not application/json")
    assert any(v.why.startswith("the body is not JSON") for v in verdict.violations)


def test_other_rules_findings_and_unknown_paths_are_not_judged() -> None:
    t = PosTraffic()
    t("GET", f"{JOBS}/7", 500, error(500))
    t("GET", f"{JOBS}/7", 429, error(429), headers={"Retry-After": "1"})
    t("GET", f"{JOBS}/7", 0, None, ctype=None, error="timed out")
    t("GET", "/api/v1/health", 200, {"up": True})
    t("GET", "https://cdn.example/x", 200, {"x": 1}, origin="external")
    ok(schema(t), reached=0)


def test_the_compiled_document_is_cached() -> None:
    params = next(c.raw_params for c in POS.rule("POS-SCHEMA-1").checks
                  if c.kind == "openapi_response")
    args = (str(POS.base_dir / params["document"]), json.dumps(params["assumed"], sort_keys=True))
    assert _compile(*args) is _compile(*args)


# ---- the contract load -----------------------------------------------------------------


@pytest.fixture
def contract_dir(tmp_path: Path) -> Path:
    """A copy of the POS contract in contracts/, the published document in specs/."""
    for folder, name in (("contracts", "pos_adapter_scripts.yaml"),
                         ("specs", "pos-adapter-scripts.openapi.yaml")):
        (tmp_path / folder).mkdir()
        shutil.copy(CONTRACTS.parent / folder / name, tmp_path / folder / name)
    return tmp_path / "contracts"


def published(contract_dir: Path) -> Path:
    return contract_dir.parent / "specs" / "pos-adapter-scripts.openapi.yaml"


def test_the_document_is_found_where_the_contract_cites_it(contract_dir: Path) -> None:
    contract = load_contract(contract_dir / "pos_adapter_scripts.yaml")
    assert contract.base_dir == contract_dir.resolve()
    cited = contract.base_dir / contract.settings["openapi_document"]
    assert cited.resolve() == published(contract_dir).resolve()


def test_a_missing_document_fails_the_load_at_its_line(contract_dir: Path) -> None:
    published(contract_dir).unlink()
    with pytest.raises(ContractError) as caught:
        load_contract(contract_dir / "pos_adapter_scripts.yaml")
    assert "cannot read the OpenAPI document" in str(caught.value)
    assert "document: $openapi_document" in str(caught.value)


def test_a_dangling_ref_fails_the_load(contract_dir: Path) -> None:
    doc = published(contract_dir)
    renamed = "job status_Response_200:\n"  # the schema's own name; its $ref then dangles
    doc.write_text(doc.read_text().replace(renamed, "job status_Response_2:\n"))
    with pytest.raises(ContractError, match="resolves to nothing"):
        load_contract(contract_dir / "pos_adapter_scripts.yaml")


@pytest.mark.parametrize(("assumed", "says"), [
    ({"GET /api/v1/adapter-scripts/jobs/{jobId}": {"404": {}}}, "the document already has 404"),
    ({"GET /api/v1/adapter-scripts/jobs/{jobId}": {"4xx": {}}}, "'4xx' is not a status"),
    ({"/api/v1/adapter-scripts/generate": {"202": {}}}, "is not of the form 'METHOD /path'"),
    ({"POST /api/v1/adapter-scripts/generate": {"4XX": {"$ref": "#/components/schemas/Nope"}}},
     "'#/components/schemas/Nope' resolves to nothing in the document"),
    ({"POST /api/v1/adapter-scripts/generate": {"202": {"type": "integr"}}},
     "not a JSON schema: 'integr' is not valid"),
])
def test_a_wrong_assumed_answer_fails_the_load(contract_dir: Path, assumed, says) -> None:
    with pytest.raises(ContractError, match=says):
        load_contract(contract_dir / "pos_adapter_scripts.yaml",
                      {"openapi_assumed_responses": assumed})

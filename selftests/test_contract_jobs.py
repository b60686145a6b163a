"""Self-tests of `contracts/jobs.yaml` itself: it loads, it has every `JOB-*`
rule of CONTRACT-DEFAULTS exactly once, and its schemas are the SDK's
models as specs/jobs-sdk-types.md writes them (field for field, strict where
the document says so, every `Literal` value and no other).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from jobcontracts.loader import ContractError, load_contract
from jobcontracts.oracles import files, lifecycle, models, pairs, slots, toggles
from jobcontracts.oracles.registry import REGISTRY

from .jobs_oracle_kit import (
    JOBS_YAML,
    convert_body,
    event,
    file_body,
    goal_body,
    jobs_contract,
    quota_body,
    result_file,
    slot,
    without_event_rules,
    workflow_body,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = ROOT / "specs" / "CONTRACT-DEFAULTS.md"
SDK_TYPES = ROOT / "specs" / "jobs-sdk-types.md"
STRICT = ["File", "ResultFile", "JobError", "ConvertJob", "PendingSlot", "GoalJob"]
OPEN = ["GoalEvent", "Workflow", "WorkflowStats", "WorkflowSummary", "WorkflowSearchPage",
        "LikeResponse", "Plan", "CostEstimate", "QuotaCheck", "ToolCostEstimate"]
EXAMPLES: dict[str, Any] = {
    "File": file_body(), "ResultFile": result_file(), "JobError": {"code": "x", "message": "y"},
    "ConvertJob": convert_body("completed"), "PendingSlot": slot(),
    "GoalJob": goal_body("slots_pending"), "GoalEvent": event(),
    "Workflow": workflow_body(), "WorkflowStats": workflow_body()["stats"],
    "WorkflowSummary": {"workflow_id": "w1"},
    "WorkflowSearchPage": {"items": [{"workflow_id": "w1"}], "cursor": None},
    "LikeResponse": {"liked": True, "like_count": 1}, "Plan": {"tier": "free"},
    "CostEstimate": quota_body(), "QuotaCheck": quota_body()["quota_check"],
    "ToolCostEstimate": {"tool_name": "ocr", "per_invocation_micro_u": 1},
}


def documented_models() -> dict[str, dict[str, list[str] | None]]:
    """Model → field → its Literal values (None for any other type), as the
    SDK document lists them."""
    found: dict[str, dict[str, list[str] | None]] = {}
    lines = SDK_TYPES.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        head = re.fullmatch(r"class (\w+):", line.strip())
        if not head:
            continue
        fields: dict[str, list[str] | None] = {}
        literal: list[str] | None = None
        for body in lines[i + 1:]:
            field = re.match(r"([a-z_]+): (.*)$", body)
            if field:
                literal = [] if "Literal[" in field.group(2) else None
                fields[field.group(1)] = literal
                if literal is not None:
                    literal += re.findall(r'"([^"]+)"', field.group(2).split("#")[0])
            elif body.startswith(('"', "#", "]")) and literal is not None:
                literal += re.findall(r'"([^"]+)"', body.split("#")[0])
            elif not body.startswith(("@property", "def ")):
                break
        found[head.group(1)] = fields
    return found


def validator(name: str) -> Draft202012Validator:
    return models.validator_for(jobs_contract(), name)


# ---- the file ------------------------------------------------------------------------------


def test_the_contract_loads_with_its_event_rules() -> None:
    contract = load_contract(JOBS_YAML)
    assert contract.api == "jobs"
    assert contract.target.auth_header == "Authorization"
    assert contract.target.auth_scheme == "Bearer"


def test_it_has_every_job_rule_of_the_defaults_exactly_once() -> None:
    documented = set(re.findall(r"JOB-[A-Z]+-\d+", DEFAULTS.read_text(encoding="utf-8")))
    assert len(documented) == 25
    contract = jobs_contract()
    ids = [rule.id for rule in contract.rules]
    assert len(ids) == len(set(ids))
    # Beyond CONTRACT-DEFAULTS': the rules for sentences of the SDK document
    # no default covered (specs/traceability/jobs.md rows 67 and 71).
    assert set(ids) - documented == {"JOB-MKT-4", "JOB-MKT-5"}
    assert documented <= set(ids)
    assert {contract.rule(r).source for r in ("JOB-MKT-4", "JOB-MKT-5")} == {"document"}


def test_only_the_models_type_notes_and_the_marketplace_comments_come_from_the_document(
) -> None:
    sources = {rule.id: rule.source for rule in jobs_contract().rules}
    assert {i for i, s in sources.items() if s == "document"} == {
        "JOB-MODEL-1", "JOB-MODEL-2", "JOB-MKT-4", "JOB-MKT-5"}


def test_without_its_event_block_the_rest_loads(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(without_event_rules(JOBS_YAML.read_text(encoding="utf-8")), encoding="utf-8")
    contract = load_contract(path)
    ids = {rule.id for rule in contract.rules}
    assert len(ids) == 23
    assert not any(i.startswith("JOB-EVT-") for i in ids)
    assert not any(c.kind.startswith("ws_") for r in contract.rules for c in r.checks)


def test_every_kind_this_contract_adds_is_used_by_it() -> None:
    added = {name for name, kind in REGISTRY.items()
             if kind.fn.__module__ in {m.__name__ for m in (files, lifecycle, models, pairs,
                                                             slots, toggles)}}
    used = {c.kind for r in jobs_contract().rules for c in r.checks}
    assert added == {"model_conformance", "datetime_offsets", "gated_action",
                     "time_non_decreasing", "non_null_after", "field_compare", "slot_fill",
                     "upload_echo", "presigned_files", "toggle", "optimistic_lock",
                     "cursor_pagination", "monotone_estimate", "query_rows", "agrees_with_one"}
    assert added <= used


def test_the_endpoints_are_the_defaults_paths() -> None:
    routes = {(e.method, e.path) for e in jobs_contract().endpoints.values()}
    assert routes == {
        ("POST", "/v1/files"), ("GET", "/v1/files/{file_id}"), ("POST", "/v1/convert"),
        ("GET", "/v1/convert/{job_id}"), ("POST", "/v1/goals"),
        ("GET", "/v1/goals/{job_spec_id}"), ("POST", "/v1/goals/{job_spec_id}/confirm"),
        ("POST", "/v1/goals/{job_spec_id}/cancel"),
        ("POST", "/v1/goals/{job_spec_id}/slots/{slot_id}"),
        ("GET", "/v1/goals/{job_spec_id}/events"), ("GET", "/v1/workflows"),
        ("GET", "/v1/workflows/{workflow_id}"), ("POST", "/v1/workflows/{workflow_id}/like"),
        ("PATCH", "/v1/workflows/{workflow_id}"), ("GET", "/v1/account/plan"),
        ("GET", "/v1/account/quota")}
    paid = {name for name, e in jobs_contract().endpoints.items() if e.paid}
    assert paid == {"create_convert", "create_goal"}


def test_the_test_mode_inputs_are_settings() -> None:
    settings = jobs_contract().settings
    assert settings["goal_text_words"] == {"slots": "slots", "preview": "preview",
                                           "fail": "fail", "partial": "partial"}
    assert settings["convert_filename_words"] == {"fail": "fail", "corrupt": "corrupt"}
    assert settings["processors"] == ["pdf_to_text", "ocr", "transcode"]
    assert settings["quota_tools"] == ["web_search", "llm_call", "pdf_extract", "ocr",
                                       "summarize", "code_interpreter", "transcribe",
                                       "image_gen"]
    tuned = load_contract(JOBS_YAML, {"processors": ["ocr"]})
    check = tuned.rule("JOB-CONV-2").checks[0].raw_params
    assert check["when"]["body"]["processor_type"] == {"in": ["ocr"]}


@pytest.mark.parametrize(("old", "new", "says"), [
    ("          get_convert@200: ConvertJob\n", "          get_convert@200: ConvertJb\n",
     "unknown schema 'ConvertJb'"),
    ("          get_convert@200: ConvertJob\n", "          get_convert: ConvertJob\n",
     "'get_convert' needs @STATUS"),
    ("        movers: [confirm_goal, cancel_goal]\n        case: lawful\n",
     "        movers: [confirm_goal, cancel_it]\n        case: lawful\n",
     "movers.1: unknown endpoint 'cancel_it'"),
    ("        lawful_in: [ready, ready_with_preview]\n", "        lawful_in: [redy]\n",
     "states ['redy'] are not in machine 'goal'"),
])
def test_a_wrong_param_of_a_new_kind_names_its_line(tmp_path: Path, old: str, new: str,
                                                    says: str) -> None:
    text = JOBS_YAML.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path = tmp_path / "jobs.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    assert says in str(caught.value)
    line = text[: text.index(old)].count("\n") + 1        # where the changed text starts
    assert caught.value.line in (line, line + 1), str(caught.value)


# ---- the schemas are the SDK's models -------------------------------------------------------


def test_every_documented_model_has_a_schema_field_for_field() -> None:
    documented = documented_models()
    schemas = jobs_contract().schemas
    # The document names WorkflowSummary but lists no fields (no `class` block):
    # the contract asks only the id that JOB-MKT-1 needs.
    assert set(documented) == set(STRICT) | set(OPEN) - {"WorkflowSummary"}
    assert schemas["WorkflowSummary"]["required"] == ["workflow_id"]
    for name, fields in documented.items():
        schema = schemas[name]
        assert list(schema["properties"]) == list(fields), name
        assert schema["required"] == list(fields), name   # X | None: present, nullable
        for field, values in fields.items():
            if values is not None:
                assert schema["properties"][field]["enum"] == values, (name, field)


def test_strict_models_forbid_extra_keys_and_open_ones_allow_them() -> None:
    schemas = jobs_contract().schemas
    for name in STRICT:
        assert schemas[name]["additionalProperties"] is False, name
    for name in OPEN:
        assert "additionalProperties" not in schemas[name], name


@pytest.mark.parametrize("name", STRICT + OPEN)
def test_a_lawful_example_passes_and_an_extra_key_breaks_only_strict_models(name: str) -> None:
    example = EXAMPLES[name]
    assert models.model_problems(validator(name), example, name) == []
    problems = models.model_problems(validator(name), {**example, "extra": 1}, name)
    assert problems == ([f"{name}.extra: unexpected key"] if name in STRICT else [])


@pytest.mark.parametrize("name", STRICT + OPEN)
def test_each_missing_field_is_named(name: str) -> None:
    for field in EXAMPLES[name]:
        broken = {k: v for k, v in EXAMPLES[name].items() if k != field}
        assert models.model_problems(validator(name), broken, name) == [
            f"{name}.{field}: missing"]


def test_nullable_fields_take_null_and_literals_take_only_their_values() -> None:
    job = goal_body(item_version=None, attempt_id=None, goal_text=None, workflow_id=None)
    assert models.model_problems(validator("GoalJob"), job, "GoalJob") == []
    for status in documented_models()["GoalJob"]["status"] or []:
        assert models.model_problems(validator("GoalJob"), goal_body(status), "GoalJob") == []
    assert models.model_problems(validator("GoalJob"), goal_body("Completed"), "GoalJob") == [
        "GoalJob.status: 'Completed' is not one of ['draft', 'created', 'analyzing', "
        "'slots_pending', 'ready', 'ready_with_preview', 'confirmed', 'queued', 'executing', "
        "'completed', 'partial', 'failed', 'cancelled']"]
    assert models.model_problems(validator("GoalJob"), goal_body(file_ids=None), "GoalJob") == [
        "GoalJob.file_ids: None is not an array"]


def test_the_error_envelope_is_the_job_error_shape() -> None:
    error_rule = jobs_contract().rule("JOB-ERR-1").checks[0].raw_params["json_schema"]
    plain = Draft202012Validator(error_rule)
    assert plain.is_valid({"error": {"code": "not_found", "message": "no such job"}})
    assert not plain.is_valid({"error": {"code": "x", "message": "y", "extra": 1}})
    assert not plain.is_valid({"detail": "Not Found"})

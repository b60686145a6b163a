"""Self-tests of the contract loader's error messages (jobcontracts.loader).

Every malformed contract is a small variant of `VALID`, written to `tmp_path`;
the error must name the file and the line of the mistake, and say what it is.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jobcontracts.apis import CONTRACT_FILES
from jobcontracts.loader import PROJECT_CONTRACTS, ContractError, find_contract, load_contract
from jobcontracts.oracles import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
SPECSTEP = ROOT / "contracts" / "specstep.yaml"
DEFAULTS = ROOT / "specs" / "CONTRACT-DEFAULTS.md"
TRACE = ROOT / "specs" / "traceability" / "specstep.md"

VALID = """\
api: demo
title: Demo API
document: demo.md
target:
  url_env: DEMO_URL
  key_env: DEMO_KEY
  simulator: demo
endpoints:
  get_job: {method: GET, path: "/v1/jobs/{job_id}"}
records:
  job:
    sources: [get_job@200]
    key: id
machines:
  job:
    record: job
    field: state
    initial: [queued]
    transitions: {queued: [done]}
rules:
  - id: DM-JOB-1
    source: document
    description: A job's progress is an integer.
    checks:
      - kind: field_type
        record: job
        field: progress
        type: integer
        min: 0
  - id: DM-JOB-2
    source: assumed
    description: A job can be fetched.
    checks:
      - kind: status_for
        request: get_job
        expect: [200]
"""


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line of `text` containing `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) == 1, f"{needle!r} is on lines {hits}"
    return hits[0]


def variant(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


def fails(tmp_path: Path, text: str, *, line: int | None, says: str) -> ContractError:
    file = tmp_path / "demo.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        load_contract(file)
    error = caught.value
    report = str(error)
    assert error.file == file
    assert error.line == line, report
    head = report.splitlines()[0]
    assert head.startswith(f"{file}:{line}: " if line else f"{file}: "), report
    assert says in report, report
    return error


def test_the_valid_contract_loads(tmp_path: Path) -> None:
    file = tmp_path / "demo.yaml"
    file.write_text(VALID, encoding="utf-8")
    contract = load_contract(file)
    assert [rule.id for rule in contract.rules] == ["DM-JOB-1", "DM-JOB-2"]
    assert contract.endpoint_ref("get_job@200")[1] == 200
    assert contract.target.auth_scheme == "Bearer"


# ---- not YAML, or not a mapping ------------------------------------------------------


def test_bad_indentation(tmp_path: Path) -> None:
    text = variant("  key_env: DEMO_KEY", "    key_env: DEMO_KEY")
    error = fails(tmp_path, text, line=line_of(text, "key_env"), says="not valid YAML")
    assert "mapping values are not allowed" in str(error)
    assert error.snippet == "key_env: DEMO_KEY"


def test_unclosed_bracket_mid_file_names_where_it_was_opened(tmp_path: Path) -> None:
    text = variant("sources: [get_job@200]", "sources: [get_job@200")
    # the parser notices on the next line; the message points back at the bracket
    error = fails(tmp_path, text, line=line_of(text, "key: id"), says="not valid YAML")
    assert f"flow sequence at line {line_of(text, 'sources:')}" in str(error)


def test_unclosed_bracket_at_end_of_file_points_at_the_bracket(tmp_path: Path) -> None:
    text = variant("expect: [200]", "expect: [200")
    error = fails(tmp_path, text, line=line_of(text, "expect:"), says="not valid YAML")
    assert "<stream end>" in str(error)
    assert error.snippet == "expect: [200"


def test_tab_indentation(tmp_path: Path) -> None:
    text = variant("  key_env: DEMO_KEY", "\tkey_env: DEMO_KEY")
    fails(tmp_path, text, line=line_of(text, "key_env"), says="cannot start any token")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    fails(tmp_path, text, line=1, says="the contract file is empty")


@pytest.mark.parametrize("text", ["- api: demo\n- title: x\n", "just a string\n", "42\n"])
def test_top_level_not_a_mapping(tmp_path: Path, text: str) -> None:
    fails(tmp_path, text, line=1, says="must be a mapping at the top level")


def test_duplicate_key(tmp_path: Path) -> None:
    text = variant("        min: 0\n", "        min: 0\n        min: 5\n")
    error = fails(tmp_path, text, line=line_of(text, "min: 5"), says="duplicate key 'min'")
    assert error.snippet == "min: 5"


# ---- the contract's own shape --------------------------------------------------------


def test_missing_rules(tmp_path: Path) -> None:
    text = VALID.split("rules:")[0]
    fails(tmp_path, text, line=1, says="rules: Field required")


def test_missing_target_key(tmp_path: Path) -> None:
    text = variant("  key_env: DEMO_KEY\n", "")
    fails(tmp_path, text, line=line_of(text, "target:"), says="target.key_env: Field required")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = VALID + "extras: 1\n"
    fails(tmp_path, text, line=line_of(text, "extras"), says="extras: Extra inputs")


@pytest.mark.parametrize("bad_id", ["job-2", "DM-2", "DM-JOB-X", "dm-job-2"])
def test_rule_id_of_the_wrong_form(tmp_path: Path, bad_id: str) -> None:
    text = variant("  - id: DM-JOB-2", f"  - id: {bad_id}")
    fails(tmp_path, text, line=line_of(text, f"id: {bad_id}"),
          says=f"rules.1.id: Value error, rule id {bad_id!r} is not of the form AB-CD-1")


def test_source_not_document_or_assumed(tmp_path: Path) -> None:
    text = variant("source: assumed", "source: guessed")
    fails(tmp_path, text, line=line_of(text, "guessed"),
          says="rules.1.source: Input should be 'document' or 'assumed'")


def test_duplicate_rule_id(tmp_path: Path) -> None:
    text = variant("  - id: DM-JOB-2", "  - id: DM-JOB-1")
    error = fails(tmp_path, text, line=line_of(text, "A job can be fetched") - 2,
                  says="rules.1.id: duplicate rule id 'DM-JOB-1'")
    assert error.snippet == "- id: DM-JOB-1"


def test_endpoint_path_without_leading_slash(tmp_path: Path) -> None:
    text = variant('path: "/v1/jobs/{job_id}"', 'path: "v1/jobs/{job_id}"')
    fails(tmp_path, text, line=line_of(text, "get_job: {"),
          says="endpoints.get_job.path: Value error, a path template must start with '/'")


def test_endpoint_method_unknown(tmp_path: Path) -> None:
    text = variant("method: GET", "method: FETCH")
    fails(tmp_path, text, line=line_of(text, "FETCH"), says="endpoints.get_job.method")


# ---- checks: kinds, params, references -----------------------------------------------


def test_unknown_rule_kind_lists_known_kinds(tmp_path: Path) -> None:
    text = variant("kind: status_for", "kind: status_of")
    error = fails(tmp_path, text, line=line_of(text, "status_of"),
                  says="rules.1.checks.0.kind: unknown rule kind 'status_of'")
    assert f"(known: {', '.join(sorted(REGISTRY))})" in str(error)


def test_check_without_kind(tmp_path: Path) -> None:
    text = variant("      - kind: status_for\n        request: get_job\n",
                   "      - request: get_job\n")
    fails(tmp_path, text, line=line_of(text, "- request: get_job"),
          says="rules.1.checks.0.kind: Field required")


def test_param_of_the_wrong_type(tmp_path: Path) -> None:
    text = variant("min: 0", 'min: "zero"')
    error = fails(tmp_path, text, line=line_of(text, "zero"),
                  says="rules.0.checks.0.min: Input should be a valid number")
    assert error.snippet == 'min: "zero"'


def test_nested_param_of_the_wrong_type(tmp_path: Path) -> None:
    text = variant("        expect: [200]", "        when: {credential: valid}\n"
                   "        expect: [200]")
    fails(tmp_path, text, line=line_of(text, "credential"),
          says="rules.1.checks.0.when.credential: Input should be a valid list")


def test_param_of_a_literal_type(tmp_path: Path) -> None:
    text = variant("type: integer", "type: int")
    fails(tmp_path, text, line=line_of(text, "type: int"), says="rules.0.checks.0.type")


def test_unknown_extra_param(tmp_path: Path) -> None:
    text = variant("        min: 0\n", "        min: 0\n        maximum: 3\n")
    fails(tmp_path, text, line=line_of(text, "maximum"),
          says="rules.0.checks.0.maximum: Extra inputs are not permitted")


def test_missing_required_param(tmp_path: Path) -> None:
    text = variant("        expect: [200]\n", "")
    fails(tmp_path, text, line=line_of(text, "kind: status_for"),
          says="rules.1.checks.0.expect: Field required")


def test_record_source_names_unknown_endpoint(tmp_path: Path) -> None:
    text = variant("sources: [get_job@200]", "sources: [get_job@200, list_jobs@200]")
    fails(tmp_path, text, line=line_of(text, "list_jobs"),
          says="records.job.sources.1: unknown endpoint 'list_jobs@200'")


def test_machine_names_unknown_record(tmp_path: Path) -> None:
    text = variant("\n    record: job\n", "\n    record: jobz\n")
    fails(tmp_path, text, line=line_of(text, "jobz"),
          says="machines.job.record: unknown record 'jobz'")


def test_check_names_unknown_record(tmp_path: Path) -> None:
    text = variant("        record: job\n", "        record: jobs\n")
    fails(tmp_path, text, line=line_of(text, "record: jobs"),
          says="rules.0.checks.0.record: unknown record 'jobs'")


def test_check_names_unknown_request_endpoint(tmp_path: Path) -> None:
    text = variant("request: get_job", "request: get_jobs")
    fails(tmp_path, text, line=line_of(text, "get_jobs"),
          says="rules.1.checks.0.request: unknown endpoint 'get_jobs'")


def test_check_names_unknown_machine(tmp_path: Path) -> None:
    text = VALID + ("  - id: DM-JOB-3\n    source: assumed\n    description: Moves.\n"
                    "    checks:\n      - {kind: transitions, machine: jobz}\n")
    fails(tmp_path, text, line=line_of(text, "machine: jobz"),
          says="rules.2.checks.0.machine: unknown machine 'jobz'")


def test_check_names_unknown_exempt_endpoint(tmp_path: Path) -> None:
    text = VALID + ("  - id: DM-JOB-3\n    source: assumed\n    description: JSON.\n"
                    "    checks:\n      - kind: json_content\n        exempt: [zip@302]\n")
    fails(tmp_path, text, line=line_of(text, "exempt"),
          says="rules.2.checks.0.exempt: unknown endpoint 'zip@302'")


def test_wildcard_request_is_not_a_dangling_name(tmp_path: Path) -> None:
    file = tmp_path / "demo.yaml"
    file.write_text(variant("request: get_job", 'request: "*"'), encoding="utf-8")
    assert load_contract(file).rules[1].checks[0].raw_params["request"] == "*"


def test_missing_file(tmp_path: Path) -> None:
    file = tmp_path / "nowhere.yaml"
    with pytest.raises(ContractError) as caught:
        load_contract(file)
    assert caught.value.line is None
    assert str(caught.value) == f"{file}: cannot read contract: No such file or directory"


def test_a_directory_is_not_a_contract(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="cannot read contract"):
        load_contract(tmp_path)


def test_the_project_contracts_are_found_whatever_the_rootdir(tmp_path: Path) -> None:
    assert PROJECT_CONTRACTS == ROOT / "contracts"
    assert find_contract("specstep.yaml", None, tmp_path / "contracts") == SPECSTEP


def test_contracts_dir_overrides_and_a_missing_contract_says_where_it_looked(
        tmp_path: Path) -> None:
    (tmp_path / "specstep.yaml").write_text(SPECSTEP.read_text(encoding="utf-8"))
    assert find_contract("specstep.yaml", tmp_path, ROOT) == tmp_path / "specstep.yaml"
    with pytest.raises(ContractError) as caught:
        find_contract("nope.yaml", None, tmp_path / "contracts")
    assert str(caught.value) == (f"nope.yaml: no such contract in {ROOT / 'contracts'} or "
                                 f"{tmp_path / 'contracts'}; point at the directory that holds "
                                 "it with --contracts-dir DIR")


# ---- the real contract ---------------------------------------------------------------


def test_specstep_has_every_rule_of_the_defaults_document() -> None:
    """Every SS-* id CONTRACT-DEFAULTS names is a rule; every further rule is
    the document's own (`source: document`), cited by a sentence of the
    document in the traceability table."""
    contract = load_contract(SPECSTEP)
    defaults = set(re.findall(r"SS-[A-Z]+-\d+", DEFAULTS.read_text(encoding="utf-8")))
    assert len(defaults) == 33
    ids = [rule.id for rule in contract.rules]
    assert len(ids) == len(set(ids))
    assert defaults <= set(ids), sorted(defaults - set(ids))
    rows = [re.split(r"(?<!\\)\|", line)[1:-1] for line in
            TRACE.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    cited = {rule_id for cells in rows if len(cells) == 5 and cells[0].strip().isdigit()
             and cells[1].strip() != "CONTRACT-DEFAULTS"
             for rule_id in re.findall(r"\bSS-[A-Z]+-\d+\b", cells[3])}
    for rule in contract.rules:
        if rule.id not in defaults:
            assert rule.source == "document", f"{rule.id} is in no document: {rule.source}"
            assert rule.id in cited, f"{rule.id}: no sentence of the traceability table cites it"


def test_every_rule_kind_is_used_by_a_contract() -> None:
    from jobcontracts.load.contract import load_for

    contracts = [load_contract(SPECSTEP.with_name(name)) for name in CONTRACT_FILES.values()]
    rules = [rule for contract in contracts for rule in contract.rules]
    rules += [rule for api in ("specstep", "pos", "interrogation")
              for rule in load_for(api, str(SPECSTEP.parent)).contract.rules]
    used = {check.kind for rule in rules for check in rule.checks}
    assert used == set(REGISTRY)


def test_params_may_name_settings_and_overrides_replace_them() -> None:
    path = Path(__file__).resolve().parents[1] / "contracts" / "specstep.yaml"
    default = load_contract(path)
    tuned = load_contract(path, {"clarification_resume_seconds": 5})
    within = [c.raw_params["within"] for c in tuned.rule("SS-CLAR-2").checks if "within" in
              c.raw_params]
    assert within == [5]
    assert default.settings["clarification_resume_seconds"] == 120


def test_unknown_setting_reference(tmp_path: Path) -> None:
    fails(tmp_path, variant("min: 0", "min: $nowhere"), line=29, says="$nowhere names no setting")

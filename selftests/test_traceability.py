"""The traceability tables (specs/traceability/*.md) hold up against the files they cite.

Each table maps the normative sentences of one API document, quoted verbatim,
to the contract rules that judge them (or says why none can, or that none
does yet). A table that drifts from its document or its contract misleads, so:

- every quoted sentence is in its document (whitespace, line breaks, code
  comment markers and Markdown escapes aside);
- every cited rule id is a rule of the API's contract;
- every contract rule is cited: a `document` rule by a sentence of the
  document, an `assumed` rule by one or by a sentence of CONTRACT-DEFAULTS;
- every `uncovered` row names the rule it proposes, and the README lists it;
- the README's counts are the tables' counts.

Pure file reading: no server, no simulator.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from jobcontracts.loader import load_contract

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
TRACE = SPECS / "traceability"
DEFAULTS = SPECS / "CONTRACT-DEFAULTS.md"
CONTRACT_DEFAULTS = "CONTRACT-DEFAULTS"


@dataclass(frozen=True)
class Api:
    name: str
    table: Path
    documents: tuple[Path, ...]
    contract: Path
    prefix: str


APIS = {
    api.name: api
    for api in (
        Api("specstep", TRACE / "specstep.md", (SPECS / "specstep-language-samples.md",),
            ROOT / "contracts" / "specstep.yaml", "SS"),
        Api("interrogation", TRACE / "interrogation.md", (SPECS / "interrogation-agent-api.md",),
            ROOT / "contracts" / "interrogation.yaml", "IA"),
        Api("pos", TRACE / "pos.md", (SPECS / "pos-adapter-scripts-job-status.md",
                                      SPECS / "pos-adapter-scripts.openapi.yaml"),
            ROOT / "contracts" / "pos_adapter_scripts.yaml", "POS"),
        Api("jobs", TRACE / "jobs.md", (SPECS / "jobs-sdk-types.md",),
            ROOT / "contracts" / "jobs.yaml", "JOB"),
    )
}

RULE_ID = re.compile(r"\b[A-Z]+-[A-Z]+-\d+\b")
NOT_TESTABLE = "not testable from outside:"
UNCOVERED = "uncovered"
PROPOSED = re.compile(r"proposed `([A-Z]+-[A-Z]+-\d+)`")
#: A cell separator: a `|` that is not escaped as `\|`.
CELL = re.compile(r"(?<!\\)\|")
#: A Markdown backslash escape (CommonMark: any ASCII punctuation).
ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
#: A code comment's marker at the start of a line (`#`, `//`, `///`).
COMMENT = re.compile(r"^\s*(?:#+|/{2,})\s?", re.MULTILINE)


@dataclass(frozen=True)
class Row:
    number: int
    section: str
    sentence: str
    rules: str
    note: str

    @property
    def from_defaults(self) -> bool:
        return self.section == CONTRACT_DEFAULTS

    @property
    def kind(self) -> str:
        if self.rules.startswith(NOT_TESTABLE):
            return "not testable"
        if self.rules == UNCOVERED:
            return "uncovered"
        return "rules"

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(RULE_ID.findall(self.rules)) if self.kind == "rules" else ()


def unescape(text: str) -> str:
    return ESCAPE.sub(r"\1", text)


def normal(text: str) -> str:
    """Whitespace and line breaks as single spaces."""
    return " ".join(text.split())


def table_rows(path: Path) -> Iterator[Row]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in CELL.split(line.strip())[1:-1]]
        if cells[0] == "#" or set(cells[0]) <= {"-", ":"}:
            continue  # a header or a separator
        assert len(cells) == 5, f"{path.name}: a row needs 5 cells: {line}"
        number, section, sentence, rules, note = (unescape(cell) for cell in cells)
        assert len(sentence) >= 2 and sentence[0] == sentence[-1] == '"', (
            f"{path.name} row {number}: the sentence is not quoted: {sentence}")
        yield Row(int(number), section, sentence[1:-1], rules, note)


@cache
def rows_of(api: str) -> tuple[Row, ...]:
    return tuple(table_rows(APIS[api].table))


@cache
def searchable(path: Path) -> tuple[str, ...]:
    """The document as prose and with code comment markers taken out (a
    comment's sentence runs across its lines)."""
    text = path.read_text(encoding="utf-8")
    return normal(text), normal(COMMENT.sub("", text))


@dataclass(frozen=True)
class Rules:
    """An API's rule ids, and which of them come from the document."""

    ids: frozenset[str]
    documented: frozenset[str]


@cache
def rules_of(api: str) -> Rules:
    """The contract's rules. The jobs contract may still be in the making:
    while it is absent, CONTRACT-DEFAULTS' JOB-* ids stand in for it; while
    it does not load, its part of these tests is skipped."""
    spec = APIS[api]
    if not spec.contract.is_file() and api == "jobs":
        ids = frozenset(RULE_ID.findall(section_of_defaults("## Convert and goal jobs")))
        return Rules(frozenset(i for i in ids if i.startswith("JOB-")), frozenset())
    try:
        contract = load_contract(spec.contract)
    except Exception as exc:  # any failure: the contract is not usable yet
        if api == "jobs":
            pytest.skip(f"contracts/jobs.yaml does not load (it is being written): {exc}")
        raise
    return Rules(frozenset(r.id for r in contract.rules),
                 frozenset(r.id for r in contract.rules if r.source == "document"))


def section_of_defaults(heading: str) -> str:
    text = DEFAULTS.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


@dataclass(frozen=True)
class Counts:
    sentences: int
    rules_cited: int
    rules_from_defaults_only: int
    contract_rules: int
    not_testable: int
    uncovered: int
    defaults_rows: int


def counts_of(api: str) -> Counts:
    rows = rows_of(api)
    document = [r for r in rows if not r.from_defaults]
    by_sentence = {i for r in document for i in r.rule_ids}
    by_defaults = {i for r in rows if r.from_defaults for i in r.rule_ids}
    return Counts(
        sentences=len(document),
        rules_cited=len(by_sentence),
        rules_from_defaults_only=len(by_defaults - by_sentence),
        contract_rules=len(rules_of(api).ids),
        not_testable=sum(r.kind == "not testable" for r in document),
        uncovered=sum(r.kind == "uncovered" for r in document),
        defaults_rows=len(rows) - len(document),
    )


def readme() -> str:
    return (TRACE / "README.md").read_text(encoding="utf-8")


def readme_counts() -> dict[str, list[int]]:
    """The README's count table: a row whose first cell is the api and which
    holds seven numbers, in the order of `Counts`."""
    found: dict[str, list[int]] = {}
    for line in readme().splitlines():
        cells = [c.strip() for c in CELL.split(line.strip())[1:-1]] if line.startswith("|") else []
        if cells and cells[0].strip("`") in APIS:
            numbers = [int(c) for c in cells if c.isdigit()]
            if len(numbers) == 7:
                found[cells[0].strip("`")] = numbers
    return found


API_NAMES = sorted(APIS)


# ---- the tables themselves -----------------------------------------------------------


@pytest.mark.parametrize("api", API_NAMES)
def test_rows_are_numbered_and_well_formed(api: str) -> None:
    rows = rows_of(api)
    assert rows, f"{APIS[api].table.name} has no rows"
    assert [r.number for r in rows] == list(range(1, len(rows) + 1)), "rows are not numbered 1..n"
    for row in rows:
        where = f"{APIS[api].table.name} row {row.number}"
        assert row.section, f"{where}: no section"
        if row.kind == "not testable":
            assert row.rules[len(NOT_TESTABLE):].strip(), f"{where}: not testable, but why?"
        elif row.kind == "rules":
            rest = RULE_ID.sub("", row.rules).replace(",", "").strip()
            assert row.rule_ids and not rest, (
                f"{where}: rules must be rule ids, `{NOT_TESTABLE} <reason>` or "
                f"`{UNCOVERED}`, not {row.rules!r}")
        else:
            assert not row.from_defaults, f"{where}: a CONTRACT-DEFAULTS row cites no rule"
            assert PROPOSED.search(row.note), f"{where}: uncovered, but no `proposed `ID``"
        assert len(row.sentence) <= 240, f"{where}: quote at most ~200 characters"


@pytest.mark.parametrize("api", API_NAMES)
def test_every_quoted_sentence_is_in_its_document(api: str) -> None:
    missing = []
    for row in rows_of(api):
        files = (DEFAULTS,) if row.from_defaults else APIS[api].documents
        quote = normal(row.sentence)
        if not any(quote in text for f in files for text in searchable(f)):
            missing.append(f"row {row.number}: {row.sentence!r}")
    documents = ", ".join(f.name for f in APIS[api].documents)
    assert not missing, f"{APIS[api].table.name}: not in {documents}:\n" + "\n".join(missing)


# ---- the tables against the contracts ------------------------------------------------


@pytest.mark.parametrize("api", API_NAMES)
def test_every_cited_rule_is_in_the_contract(api: str) -> None:
    known = rules_of(api).ids
    unknown = sorted({f"{i} (row {r.number})" for r in rows_of(api) for i in r.rule_ids
                      if i not in known})
    assert not unknown, f"{APIS[api].table.name} cites rules no contract has: {unknown}"


@pytest.mark.parametrize("api", API_NAMES)
def test_every_contract_rule_is_traced(api: str) -> None:
    rules = rules_of(api)
    rows = rows_of(api)
    by_sentence = {i for r in rows if not r.from_defaults for i in r.rule_ids}
    by_defaults = {i for r in rows if r.from_defaults for i in r.rule_ids}
    untraced = sorted(rules.ids - by_sentence - by_defaults)
    assert not untraced, f"rules no row of {APIS[api].table.name} cites: {untraced}"
    undocumented = sorted((rules.documented & by_defaults) - by_sentence)
    assert not undocumented, (f"`source: document` rules traced only to CONTRACT-DEFAULTS "
                              f"(cite the document's sentence): {undocumented}")


# ---- the README ---------------------------------------------------------------------


@pytest.mark.parametrize("api", API_NAMES)
def test_readme_counts_are_the_tables(api: str) -> None:
    stated = readme_counts().get(api)
    assert stated is not None, f"README.md has no count row for {api}"
    c = counts_of(api)
    actual = [c.sentences, c.rules_cited, c.rules_from_defaults_only, c.contract_rules,
              c.not_testable, c.uncovered, c.defaults_rows]
    assert stated == actual, (
        f"README says {stated} for {api}; the table has {actual} (sentences, rules cited, "
        "rules from CONTRACT-DEFAULTS only, contract rules, not testable, uncovered, "
        "CONTRACT-DEFAULTS rows)")


@pytest.mark.parametrize("api", API_NAMES)
def test_readme_lists_every_proposed_rule(api: str) -> None:
    text = readme()
    proposed = sorted({m for r in rows_of(api) if r.kind == "uncovered"
                       for m in PROPOSED.findall(r.note)})
    absent = [p for p in proposed if f"`{p}`" not in text]
    assert not absent, f"proposed rules the README does not describe: {absent}"
    clash = sorted(set(proposed) & rules_of(api).ids)
    assert not clash, f"proposed ids that the contract already uses: {clash}"

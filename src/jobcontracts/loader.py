"""Load a contract file, or say exactly where and why it is wrong.

YAML is composed into nodes first so that every value keeps its line; a
pydantic error's location is then mapped back to the deepest node it names,
and the message shows the file, the line and the offending text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import chain
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .contract import Contract

Loc = tuple[str | int, ...]


class ContractError(Exception):
    """A contract that cannot be used. `str()` is the whole report."""

    def __init__(self, file: Path, line: int | None, message: str, snippet: str = "") -> None:
        self.file, self.line, self.message, self.snippet = file, line, message, snippet
        where = f"{file}:{line}" if line else str(file)
        text = f"{where}: {message}"
        if snippet:
            text += f"\n    {line} | {snippet}"
        super().__init__(text)


#: The `contracts/` of the project this package is installed from: in the
#: editable (src) layout, the directory that holds `src/jobcontracts`.
PROJECT_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"


def find_contract(file: str, contracts_dir: str | Path | None, fallback: Path) -> Path:
    """The contract file `file` under `contracts_dir` if one is given; else under
    the project's own `contracts/` or, failing that, under `fallback` (the
    rootdir's or the working directory's `contracts/`)."""
    bases = [Path(contracts_dir)] if contracts_dir else [PROJECT_CONTRACTS, fallback]
    for base in bases:
        if (base / file).is_file():
            return base / file
    looked = " or ".join(str(base) for base in dict.fromkeys(bases))
    raise ContractError(Path(file), None, f"no such contract in {looked}; point at the "
                                          "directory that holds it with --contracts-dir DIR")


def load_contract(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Contract:
    """Load a contract. `overrides` replace its settings; a rule param written
    `$name` takes the value of setting `name`."""
    file = Path(path)
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContractError(file, None, f"cannot read contract: {exc.strerror}") from exc
    data, lines = _compose(file, source)
    if not isinstance(data, dict):
        raise ContractError(file, 1, "a contract must be a mapping at the top level")
    locate = _Locator(file, source, lines)
    settings = data.get("settings")
    if overrides:
        settings = {**(settings if isinstance(settings, dict) else {}), **overrides}
        data["settings"] = settings
    if "rules" in data:
        data["rules"] = _substitute(data["rules"], settings or {}, ("rules",), locate)
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        raise locate.error(exc, ()) from None
    contract._base_dir = file.resolve().parent
    _check_references(contract, locate)
    return contract


def _substitute(value: Any, settings: Mapping[str, Any], loc: Loc, locate: _Locator) -> Any:
    if isinstance(value, str) and value.startswith("$") and value[1:].isidentifier():
        if value[1:] not in settings:
            known = ", ".join(settings) or "the contract has none"
            raise locate.at(loc, f"{value} names no setting (settings: {known})")
        return settings[value[1:]]
    if isinstance(value, dict):
        return {k: _substitute(v, settings, (*loc, k), locate) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, settings, (*loc, i), locate) for i, v in enumerate(value)]
    return value


#: libyaml's parser when present: the same nodes and marks, fifteen times
#: faster. A file it refuses is parsed again in Python for PyYAML's clearer words.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(file: Path, source: str) -> tuple[Any, dict[Loc, int]]:
    source_lines = source.splitlines()
    try:
        node = yaml.compose(source, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        node = None
    try:
        node = node or yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        context, opened = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and opened:
            problem += f" ({context} at line {opened.line + 1})"
            if line is not None and line > len(source_lines):
                line = opened.line + 1  # the end of the file: point at what was left open
        snippet = source_lines[line - 1].strip() if line and line <= len(source_lines) else ""
        raise ContractError(file, line, f"not valid YAML: {problem}", snippet) from None
    if node is None:
        raise ContractError(file, 1, "the contract file is empty")
    lines: dict[Loc, int] = {}
    try:
        return _construct(node, (), lines), lines
    except _DuplicateKey as dup:
        raise ContractError(file, dup.line, f"duplicate key {dup.key!r}",
                            source_lines[dup.line - 1].strip()) from None


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        self.key, self.line = key, line


def _construct(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, (*loc, "<key>"), {})
            if key in out:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            out[key] = _construct(value_node, (*loc, key), lines)
            lines[(*loc, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*loc, i), lines) for i, item in enumerate(node.value)]
    return _SCALARS.construct_object(node, deep=True)


_SCALARS = yaml.SafeLoader("")


class _Locator:
    def __init__(self, file: Path, source: str, lines: dict[Loc, int]) -> None:
        self.file, self.source_lines, self.lines = file, source.splitlines(), lines

    def at(self, loc: Loc, message: str) -> ContractError:
        probe = loc
        while probe not in self.lines and probe:
            probe = probe[:-1]
        line = self.lines.get(probe)
        snippet = self.source_lines[line - 1].strip() if line else ""
        path = ".".join(str(p) for p in loc)
        return ContractError(self.file, line, f"{path}: {message}" if path else message, snippet)

    def error(self, exc: ValidationError, base: Loc) -> ContractError:
        first = exc.errors()[0]
        loc = (*base, *first["loc"])
        more = len(exc.errors()) - 1
        message = first["msg"] + (f" (and {more} more problem(s))" if more else "")
        return self.at(loc, message)


def _check_references(contract: Contract, locate: _Locator) -> None:
    from .oracles import REGISTRY

    ids = {rule.id for rule in contract.rules}
    for option, rule_ids in contract.reached_with.items():
        for i, rule_id in enumerate(rule_ids):
            if rule_id not in ids:
                raise locate.at(("reached_with", option, i), f"unknown rule id {rule_id!r}")
    for name, record in contract.records.items():
        for i, ref in enumerate(record.sources):
            if ref.partition("@")[0] not in contract.endpoints:
                raise locate.at(("records", name, "sources", i), f"unknown endpoint {ref!r}")
    for name, machine in contract.machines.items():
        if machine.record not in contract.records:
            raise locate.at(("machines", name, "record"), f"unknown record {machine.record!r}")
    seen: dict[str, int] = {}
    for index, rule in enumerate(contract.rules):
        if rule.id in seen:
            raise locate.at(("rules", index, "id"), f"duplicate rule id {rule.id!r}")
        seen[rule.id] = index
        for j, check in enumerate(rule.checks):
            loc: Loc = ("rules", index, "checks", j)
            kind = REGISTRY.get(check.kind)
            if kind is None:
                known = ", ".join(sorted(REGISTRY))
                raise locate.at((*loc, "kind"),
                                f"unknown rule kind {check.kind!r} (known: {known})")
            try:
                params = kind.params.model_validate(check.raw_params)
            except ValidationError as exc:
                raise locate.error(exc, loc) from None
            for ref_loc, problem in chain(_dangling(params, contract), params.problems(contract)):
                raise locate.at((*loc, *ref_loc), problem)


#: Params that name an endpoint or a record without saying so in their name.
_REFERS_TO = {"request": "endpoint", "exempt": "endpoint", "observe": "record",
              "pending": "record"}


def _dangling(params: BaseModel, contract: Contract) -> Iterator[tuple[Loc, str]]:
    """Names in params that the contract does not define (endpoint, record, machine)."""
    tables: dict[str, Mapping[str, object]] = {
        "endpoint": contract.endpoints, "record": contract.records, "machine": contract.machines}
    for field_name, value in params:
        for table_name, table in tables.items():
            if (field_name == table_name or field_name.endswith(f"_{table_name}")
                    or _REFERS_TO.get(field_name) == table_name):
                for ref in value if isinstance(value, list) else [value]:
                    if isinstance(ref, str) and ref != "*" and ref.partition("@")[0] not in table:
                        yield (field_name,), f"unknown {table_name} {ref!r}"


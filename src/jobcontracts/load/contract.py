"""The contract a load run judges: the API's own, plus its `LOAD-*` section of
`contracts/load.yaml`.

The section's rules are validated like any contract's (their kinds, their
params, the endpoints they name, each error with its file and line) against
the API's contract, then appended to it: one `Contract`, so one ledger and
one report. Which rules are judged on the whole run rather than on each
scenario's trace is the file's `whole_run` list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..apis import CONTRACT_FILES
from ..contract import Contract, Rule
from ..loader import (
    ContractError,
    _compose,
    _Locator,
    _substitute,
    find_contract,
    load_contract,
)
from ..oracles import load as _load_kinds  # registers the LOAD-* kinds
from ..oracles.registry import REGISTRY

LOAD_CONTRACT = "load.yaml"
KINDS = _load_kinds


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    settings: dict[str, Any] = {}
    single_client: list[str] = []
    rules: list[Rule]


class _LoadFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    title: str
    document: str
    whole_run: list[str] = []
    settings: dict[str, Any] = {}
    apis: dict[str, _Section]


@dataclass(frozen=True)
class LoadContract:
    contract: Contract
    """The API's contract with its `LOAD-*` rules appended."""
    load_rules: tuple[str, ...]
    whole_run: frozenset[str]
    """Rules judged once on the whole run's merged trace."""
    single_client: frozenset[str] = frozenset()
    """The API's rules that assume one client per key: not judged under load."""

    @property
    def settings(self) -> Mapping[str, Any]:
        return self.contract.settings

    def per_scenario(self) -> Contract:
        """The contract of the rules judged on each scenario's trace."""
        return self.contract.model_copy(update={"rules": [
            r for r in self.contract.rules if r.id not in self.whole_run
            and r.id not in self.single_client]})

    def whole(self) -> Contract:
        return self.contract.model_copy(update={"rules": [
            r for r in self.contract.rules if r.id in self.whole_run]})


def load_for(api: str, contracts_dir: str | None = None,
             overrides: Mapping[str, Any] | None = None) -> LoadContract:
    """The API's contract and its load section, settings overridden by `overrides`."""
    fallback = Path.cwd() / "contracts"
    base = load_contract(find_contract(CONTRACT_FILES[api], contracts_dir, fallback))
    file = find_contract(LOAD_CONTRACT, contracts_dir, fallback)
    source = file.read_text(encoding="utf-8")
    data, lines = _compose(file, source)
    locate = _Locator(file, source, lines)
    if not isinstance(data, dict):
        raise ContractError(file, 1, "the load contract must be a mapping at the top level")
    try:
        parsed = _LoadFile.model_validate(data)
    except ValidationError as exc:
        raise locate.error(exc, ()) from None
    if api not in parsed.apis:
        raise ContractError(file, None, f"no section for {api!r} (sections: "
                                        f"{', '.join(parsed.apis)})")
    section = parsed.apis[api]
    settings = {**parsed.settings, **section.settings, **(overrides or {})}
    raw_rules = _substitute(data["apis"][api]["rules"], settings, ("apis", api, "rules"), locate)
    try:
        rules = [Rule.model_validate(r) for r in raw_rules]
    except ValidationError as exc:
        raise locate.error(exc, ("apis", api, "rules")) from None
    taken = {r.id for r in base.rules}
    for index, rule in enumerate(rules):
        loc = ("apis", api, "rules", index)
        if rule.id in taken:
            raise locate.at((*loc, "id"), f"rule id {rule.id!r} is already a rule of {api}")
        for j, check in enumerate(rule.checks):
            kind = REGISTRY.get(check.kind)
            if kind is None:
                raise locate.at((*loc, "checks", j, "kind"), f"unknown rule kind {check.kind!r}")
            try:
                params = kind.params.model_validate(check.raw_params)
            except ValidationError as exc:
                raise locate.error(exc, (*loc, "checks", j)) from None
            for name in ("request", "pending"):
                ref = getattr(params, name, None)
                if isinstance(ref, str) and ref not in base.endpoints:
                    raise locate.at((*loc, "checks", j, name), f"unknown endpoint {ref!r}")
            for ref_loc, problem in params.problems(base):
                raise locate.at((*loc, "checks", j, *ref_loc), problem)
    unknown = [r for r in parsed.whole_run if r not in {x.id for s in parsed.apis.values()
                                                       for x in s.rules}]
    if unknown:
        raise locate.at(("whole_run",), f"unknown rule id(s) {unknown}")
    ids = {r.id for r in base.rules}
    for i, rule_id in enumerate(section.single_client):
        if rule_id not in ids:
            raise locate.at(("apis", api, "single_client", i), f"{api} has no rule {rule_id!r}")
    notes = [*base.notes, *(f"{r} is not judged under load: it assumes its client is the "
                            "only one of its key" for r in section.single_client)]
    merged = base.model_copy(update={"rules": [*base.rules, *rules], "notes": notes,
                                     "settings": {**base.settings, **settings}})
    merged._base_dir = base.base_dir
    return LoadContract(merged, tuple(r.id for r in rules), frozenset(parsed.whole_run),
                        frozenset(section.single_client))

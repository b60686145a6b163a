"""Rule kinds, registered by name; violations; verdicts.

A rule kind is one oracle function `fn(trace, params, ctx, verdict)` and the
pydantic model of its params. The function reads the trace, counts what it
could judge (`verdict.reached`) and reports what is wrong
(`verdict.violate`). It never raises on bad traffic: garbage from a server is a
violation of some rule, not an engine error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from ..trace import Exchange, Trace

if TYPE_CHECKING:
    from ..contract import Contract

P = TypeVar("P", bound=BaseModel)
Loc = tuple[str | int, ...]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def problems(self, contract: Contract) -> Iterator[tuple[Loc, str]]:
        """What the loader should report beyond the params' shape (a file they
        name that is not there), each with the location of the param at fault."""
        return iter(())


@dataclass(frozen=True)
class Violation:
    rule: str
    why: str
    exchanges: tuple[Exchange, ...]
    fields: tuple[str, ...] = ()

    def render(self) -> str:
        lines = [f"{self.rule} {self.why}"]
        lines += [f"    {ex.describe(self.fields)}" for ex in self.exchanges]
        return "\n".join(lines)


@dataclass
class Verdict:
    """What one check found in one trace."""

    rule: str
    reached: int = 0
    violations: list[Violation] = field(default_factory=list)

    def judged(self, count: int = 1) -> None:
        self.reached += count

    def violate(self, why: str, *exchanges: Exchange, fields: tuple[str, ...] = ()) -> None:
        self.reached += 1
        ordered = tuple(sorted(set(exchanges), key=lambda ex: ex.seq))
        self.violations.append(Violation(self.rule, why, ordered, fields))


OracleFn = Callable[[Trace, Any, Any, Verdict], None]


@dataclass(frozen=True)
class Kind(Generic[P]):
    name: str
    params: type[P]
    fn: OracleFn
    doc: str


REGISTRY: dict[str, Kind[Any]] = {}


def rule_kind(name: str, params: type[P]) -> Callable[[OracleFn], OracleFn]:
    """Register `fn` as the oracle of rule kind `name`."""

    def register(fn: OracleFn) -> OracleFn:
        if name in REGISTRY:
            raise ValueError(f"rule kind {name!r} is registered twice")
        REGISTRY[name] = Kind(name, params, fn, (fn.__doc__ or "").strip())
        return fn

    return register

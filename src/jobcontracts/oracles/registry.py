"""Rule kinds, registered by name; violations; verdicts.

A rule kind is one oracle function `fn(trace, params, ctx, verdict)` and the
pydantic model of its params. The function reads the trace, counts what it
could judge (`verdict.reached`; with `verdict.covers`, which members of a
set it judged) and reports what is wrong
(`verdict.violate`). It never raises on bad traffic: garbage from a server is a
violation of some rule, not an engine error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
class Parts:
    """The members of a set a check iterates over (`covers`): every member the
    trace offered, and the ones the check judged."""

    label: str
    members: set[str] = field(default_factory=set)
    judged: set[str] = field(default_factory=set)


@dataclass
class Verdict:
    """What one check found in one trace."""

    rule: str
    reached: int = 0
    violations: list[Violation] = field(default_factory=list)
    parts: Parts | None = None

    def covers(self, label: str, members: Iterable[str]) -> None:
        """Declare the set this check iterates over: it is exercised in full
        only once every member has been judged (in this trace or another)."""
        if self.parts is None:
            self.parts = Parts(label)
        self.parts.members.update(members)

    def judged(self, count: int = 1, part: str | None = None) -> None:
        self.reached += count
        if part is not None and self.parts is not None:
            self.parts.members.add(part)
            self.parts.judged.add(part)

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

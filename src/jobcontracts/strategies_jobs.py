"""Hypothesis strategies for the convert/goal jobs API: upload names and
sizes, slot values inside and outside a slot's options, and quota requests
in metamorphic pairs (JOB-BILL-2).

Upload names are any Unicode text a multipart part can carry: empty, one
character, a thousand, with quotes, backslashes and percent signs (which
the multipart encoding escapes, and JOB-FILE-1's check then leaves out of
its comparison). Sizes run from zero bytes to a megabyte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

#: Sizes at the edges (empty, one byte) and well past a single read (64 KiB).
SIZE_EDGES = [0, 1, 65_535, 65_536, 65_537, 1 << 20]
#: Content types a part may carry; None: the part has no Content-Type.
CONTENT_TYPES: list[str | None] = [None, "application/pdf", "text/plain; charset=utf-8",
                                   "image/png", "application/octet-stream",
                                   "application/vnd.openxmlformats-officedocument."
                                   "wordprocessingml.document"]
#: Values that are never a slot's option, nor text: JSON of every other type.
NON_TEXT: list[Any] = [None, 0, 7, 1.5, True, False, [], ["pdf"], {}, {"value": "pdf"}]


def filenames() -> st.SearchStrategy[str]:
    """Upload names: Unicode (no lone surrogates, no control characters a
    header cannot carry), short and long, and the awkward ones by name."""
    text = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=80)
    return st.one_of(
        text,
        st.sampled_from(["report.pdf", "résumé final.docx", "数据报告.xlsx", "📄 notes.txt",
                         'quote".pdf', "back\\slash.pdf", "100% done.pdf", "a" * 1000 + ".pdf",
                         "no-extension", ".hidden", "x"]),
        text.map(lambda t: t * 20))


def file_contents() -> st.SearchStrategy[bytes]:
    """File bodies: any bytes up to 4 KiB, or a sized run of one byte."""
    return st.one_of(st.binary(max_size=4096),
                     st.builds(lambda n, b: bytes([b]) * n, st.sampled_from(SIZE_EDGES),
                               st.integers(0, 255)))


def content_types() -> st.SearchStrategy[str | None]:
    return st.sampled_from(CONTENT_TYPES)


def option_values(slot: dict[str, Any]) -> list[Any]:
    options = slot.get("options") or []
    return [o.get("value") if isinstance(o, dict) else o for o in options]


def outside_options(slot: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value a slot with `options` must refuse (JOB-SLOT-2): text that is
    none of them, an option's label or its object, another JSON type; for a
    required slot, null and "" too."""
    allowed = option_values(slot)
    labels = [o.get("label") for o in slot.get("options") or [] if isinstance(o, dict)]
    wrong = [v for v in [*labels, *NON_TEXT, *(o for o in slot.get("options") or []
                                                if isinstance(o, dict))]
             if v not in allowed]
    near = [f"{v} " for v in allowed if isinstance(v, str)] + \
           [v.upper() for v in allowed if isinstance(v, str) and v.upper() != v]
    text = st.text(max_size=20).filter(lambda t: t not in allowed)
    return st.one_of(st.sampled_from(wrong + near), text)


def required_blanks() -> st.SearchStrategy[Any]:
    """What a required slot refuses whatever its kind: null and ""."""
    return st.sampled_from([None, ""])


def free_text() -> st.SearchStrategy[str]:
    """A lawful value for a free-text slot: non-empty Unicode text."""
    return st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=60)


@dataclass(frozen=True)
class QuotaPair:
    """Two quota requests, the second asking for at least as much (JOB-BILL-2)."""

    tools: tuple[str, ...]
    iterations: int
    more_tools: tuple[str, ...]
    more_iterations: int


def quota_pairs(tools: Sequence[str], max_iterations: int = 50) -> st.SearchStrategy[QuotaPair]:
    """A request and a larger one: a superset of its tools (in any order,
    maybe a repeat), or more iterations, or both."""
    pool = list(tools)

    @st.composite
    def pair(draw: st.DrawFn) -> QuotaPair:
        first = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool),
                              unique=True))
        extra = draw(st.lists(st.sampled_from(pool), max_size=3))
        more = draw(st.permutations(sorted(set(first) | set(extra))))
        if draw(st.booleans()):
            more = [*more, draw(st.sampled_from(first))]  # a repeat is the same set
        n = draw(st.integers(1, max_iterations))
        m = draw(st.integers(n, max_iterations + 20))
        return QuotaPair(tuple(first), n, tuple(more), m)

    return pair()

"""Noise and differences: Diffy's rule, request by request, over the baseline's
runs and the candidate's.

Each feature is judged in each scope (aligned request) that every run saw:

- a set of elements (statuses, types, values, presence, event sequences) is
  *noise* in a scope where the baseline's runs saw different sets, and
  *differs* where they agree and the candidate's set gains an element that
  is more than half of its own, or loses one that was more than half of
  each baseline run's (a state a poll caught once is timing, not behaviour;
  for types, keys and headers, structure, a tenth is enough);
- a magnitude (a text's length, `Retry-After`) differs when the candidate's
  median lies beyond the baseline's medians by more than the setting's ratio
  and their own spread; a count (its median), when it lies further from the
  baseline runs' medians than they lie from each other, or outside every
  count the baseline saw.

A status or an event sequence is reported for each request it differs in. Any
other feature is reported when it differs in at least half of the scopes that
are not noise and in more scopes than it is noise (`MIN_SHARE`): a field's
noise anywhere is its noise everywhere, as Diffy learns it. Latency is judged
per endpoint, over every scope: median and p95, as a ratio.
"""

from __future__ import annotations

import dataclasses
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .features import (
    CATEGORICAL,
    COUNT,
    MIN_LATENCY_SAMPLES,
    PRESENCE,
    RATIO,
    Feature,
    Key,
    Summary,
)
from .load import Observed

#: Strings that read as the members of a vocabulary (codes, states, event
#: types: one word), not as ids, timestamps or prose.
_ENUM_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:/\-]{0,47}$")
MAX_ENUM = 16
#: An element more than half of a run's is behaviour; less may be a poll's
#: timing, or one draw of a server's random content.
MAJOR = 0.5
#: Types and keys are structure: one that a tenth of each baseline run's
#: answers showed (twice or more) and the candidate's never did is behaviour.
STRUCTURAL = 0.1
STRUCTURAL_KINDS = ("type", "key", "header")
MIN_SHARE = 0.5
#: Kinds judged request by request: a difference in one request is reported
#: (its noise is that request's own: its baseline runs disagreed).
PER_REQUEST = ("status", "events")
#: A p95 of fewer samples is one slow answer's.
MIN_P95_SAMPLES = 20


@dataclass(frozen=True)
class Settings:
    latency_ratio: float = 2.0
    """A median or p95 latency this many times the baseline's (and more than
    the baseline's runs differ by) is slower."""
    latency_floor: float = 0.05
    """Seconds: latency that grew by less is never reported."""
    length_ratio: float = 2.0
    """A text this many times shorter (or longer) than the baseline's median."""
    retry_after_ratio: float = 2.0
    latency: bool = True

    def ratio(self, kind: str) -> float:
        if kind.startswith("latency"):
            return self.latency_ratio
        return self.retry_after_ratio if kind == "retry-after" else self.length_ratio


@dataclass
class Difference:
    kind: str
    endpoint: str
    field: str
    baseline: str
    candidate: str
    why: str
    scopes: list[str] = dataclasses.field(default_factory=list)
    judged: int = 0
    baseline_example: Observed | None = None
    candidate_example: Observed | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "endpoint": self.endpoint, "field": self.field,
                "baseline": self.baseline, "candidate": self.candidate, "why": self.why,
                "requests": self.scopes[:20], "differing_requests": len(self.scopes),
                "judged_requests": self.judged,
                "baseline_exchange": _where(self.baseline_example),
                "candidate_exchange": _where(self.candidate_example)}


@dataclass(frozen=True)
class Noise:
    kind: str
    endpoint: str
    field: str
    baseline: str
    baseline_again: str
    scopes: int = 1

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "endpoint": self.endpoint, "field": self.field,
                "baseline": self.baseline, "baseline_again": self.baseline_again,
                "noisy_requests": self.scopes}


def _where(obs: Observed | None) -> str | None:
    return None if obs is None else f"{obs.where}: {obs.exchange.describe()}"


def show(value: Any) -> str:
    if isinstance(value, (frozenset, set)):
        return ", ".join(sorted(v if v else '""' for v in map(str, value))) or "(nothing)"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


@dataclass
class _Tally:
    judged: int = 0
    noisy: int = 0
    first_noise: tuple[str, str] | None = None
    diff_scopes: list[str] = field(default_factory=list)
    baseline: set[str] = field(default_factory=set)
    candidate: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)
    numbers: list[tuple[float, float, float]] = field(default_factory=list)
    examples: list[tuple[Observed | None, Observed | None]] = field(default_factory=list)


def compare(a: Summary, again: Sequence[Summary], b: Summary,
            settings: Settings | None = None) -> tuple[list[Difference], list[Noise]]:
    """The differences of `b` from the baseline `a` (with its other runs
    `again`), and the noise the baseline's runs showed."""
    settings = settings or Settings()
    runs = [a, *again]
    differences: list[Difference] = []
    noise: list[Noise] = []
    keys = set().union(*(s.features for s in (*runs, b)))
    for key in sorted(keys):
        if key.kind == "latency":
            if settings.latency:
                differences += _latency(key, runs, b, settings, noise)
            continue
        enum = key.kind != "vocab" or _enum_like(runs, key)
        if not enum:
            continue
        if key.kind == "text-length" and _enum_like(runs, Key("vocab", key.endpoint, key.field)):
            continue  # a vocabulary's member: `vocab` judges it
        tally = _tally(key, runs, b, settings)
        if tally.noisy:
            assert tally.first_noise is not None
            noise.append(Noise(key.kind, key.endpoint, key.field, *tally.first_noise,
                               scopes=tally.noisy))
        found = _decide(key, tally)
        if found is not None:
            differences.append(found)
    return differences, noise


def _scopes(key: Key, summary: Summary) -> set[str]:
    scopes = set(summary.features.get(key, {}))
    if key.kind in PRESENCE:
        scopes |= set(summary.parents.get(key.parent, {}))
    return scopes


def _tally(key: Key, runs: list[Summary], b: Summary, settings: Settings) -> _Tally:
    tally = _Tally()
    scopes = set.intersection(*(_scopes(key, s) for s in (*runs, b)))
    getters = [s.in_scopes(key) for s in runs]
    get_b = b.in_scopes(key)
    for scope in sorted(scopes):
        base = [get(scope) for get in getters]
        fb = get_b(scope)
        if fb is None or any(f is None for f in base):
            continue
        features = [f for f in base if f is not None]
        tally.judged += 1
        if key.kind in CATEGORICAL:
            _categorical(key, scope, features, fb, tally)
        elif key.kind in RATIO:
            _ratio(key, scope, features, fb, settings, tally)
        elif key.kind in COUNT:
            _count(scope, features, fb, tally)
    return tally


def _categorical(key: Key, scope: str, base: list[Feature], fb: Feature,
                 tally: _Tally) -> None:
    sets = [f.elements for f in base]
    if any(s != sets[0] for s in sets[1:]):
        tally.noisy += 1
        if tally.first_noise is None:
            tally.first_noise = (show(sets[0]), show(next(s for s in sets if s != sets[0])))
        return
    old, new = sets[0], fb.elements
    if new == old:
        return  # nothing gained or lost (most requests)
    share = STRUCTURAL if key.kind in STRUCTURAL_KINDS else MAJOR
    least = 2 if key.kind in STRUCTURAL_KINDS else 1
    added = {e for e in new - old if _holds(fb, e, share, least)}
    gone = {e for e in old - new if all(_holds(f, e, share, least) for f in base)}
    if not added and not gone:
        return
    tally.diff_scopes.append(scope)
    tally.baseline |= old
    tally.candidate |= new
    tally.added |= added
    tally.gone |= gone
    tally.examples.append((base[0].example(sorted(gone)), fb.example(sorted(added))))


def _holds(feature: Feature, element: str, share: float, least: int) -> bool:
    """Is the element more than `share` of the feature's, and seen `least`
    times (or in every one of them)?"""
    n, total = feature.counts.get(element, 0), sum(feature.counts.values())
    return n > share * total and (n >= least or n == total)


def _ratio(key: Key, scope: str, base: list[Feature], fb: Feature, settings: Settings,
           tally: _Tally) -> None:
    medians = [statistics.median(f.samples) for f in base]
    lo, hi, value = min(medians), max(medians), statistics.median(fb.samples)
    spread = hi / lo if lo > 0 else (1.0 if hi == 0 else math.inf)
    threshold = settings.ratio(key.kind)
    if spread > threshold:
        tally.noisy += 1
        if tally.first_noise is None:
            tally.first_noise = (show(float(medians[0])), show(float(medians[1])))
    allowed = max(threshold, spread)
    if value > hi * allowed or value * allowed < lo:
        tally.diff_scopes.append(scope)
        tally.numbers.append((float(lo), float(hi), float(value)))
        tally.examples.append((base[0].example(), fb.example()))


def _count(scope: str, base: list[Feature], fb: Feature, tally: _Tally) -> None:
    medians = [float(statistics.median(f.samples)) for f in base]
    lo, hi = min(medians), max(medians)
    band = hi - lo
    if band:
        tally.noisy += 1
        if tally.first_noise is None:
            tally.first_noise = (show(medians[0]), show(medians[1]))
    value = float(statistics.median(fb.samples))
    seen = [x for f in base for x in f.samples]
    if not lo - band <= value <= hi + band or not min(seen) <= value <= max(seen):
        tally.diff_scopes.append(scope)
        tally.numbers.append((lo, hi, value))
        tally.examples.append((base[0].example(), fb.example()))


def _decide(key: Key, tally: _Tally) -> Difference | None:
    d = len(tally.diff_scopes)
    if not d:
        return None
    if key.kind in PER_REQUEST:
        pass  # the same request answered otherwise: evidence on its own
    elif key.kind in CATEGORICAL:
        if d < MIN_SHARE * (tally.judged - tally.noisy) or d <= tally.noisy:
            return None
    elif d < MIN_SHARE * tally.judged:
        return None
    baseline_example, candidate_example = tally.examples[0]
    if key.kind in CATEGORICAL:
        baseline, candidate, why = _categorical_why(key, tally)
    else:
        lo = min(n[0] for n in tally.numbers)
        hi = max(n[1] for n in tally.numbers)
        value = statistics.median(n[2] for n in tally.numbers)
        baseline = show(lo) if lo == hi else f"{show(lo)}..{show(hi)}"
        candidate = show(value)
        noun = {"retry-after": "Retry-After (s)", "text-length": f"length of {key.field}",
                "count": key.field}[key.kind]
        direction = "grew" if value > hi else "shrank"
        factor = (value / hi if hi else math.inf) if value > hi else (lo / value if value
                                                                        else math.inf)
        why = (f"{noun} {direction} {factor:.1f}x: {baseline} in the baseline, {candidate} in "
               f"the candidate")
    return Difference(key.kind, key.endpoint, key.field, baseline, candidate,
                      f"{why} ({d} of {tally.judged} requests)", tally.diff_scopes,
                      tally.judged, baseline_example, candidate_example)


def _categorical_why(key: Key, tally: _Tally) -> tuple[str, str, str]:
    baseline, candidate = show(tally.baseline), show(tally.candidate)
    if key.kind in PRESENCE:
        noun = "header" if key.kind == "header" else "key"
        if "present" in tally.added:
            return "absent", "present", f"{noun} {key.field!r} is new"
        return "present", "absent", f"{noun} {key.field!r} is gone"
    parts = []
    if tally.added:
        parts.append(f"new: {show(tally.added)}")
    if tally.gone:
        parts.append(f"gone: {show(tally.gone)}")
    label = {"status": "the same request was answered",
             "requests": "the example sent",
             "type": f"{key.field} was of type",
             "vocab": f"{key.field} took the values",
             "events": "the stream's events were"}[key.kind]
    why = f"{label} {baseline} in the baseline, {candidate} in the candidate ({'; '.join(parts)})"
    return baseline, candidate, why


def _enum_like(runs: list[Summary], key: Key) -> bool:
    values: set[str] = set()
    for summary in runs:
        for feature in summary.features.get(key, {}).values():
            values |= feature.elements
            if len(values) > MAX_ENUM:
                return False
    return bool(values) and all(
        _ENUM_LIKE.match(v) is not None and sum(ch.isdigit() for ch in v) <= 2 for v in values)


def _latency(key: Key, runs: list[Summary], b: Summary, settings: Settings,
             noise: list[Noise]) -> list[Difference]:
    samples = [s.features.get(key, {}).get("") for s in (*runs, b)]
    if any(f is None or len(f.samples) < MIN_LATENCY_SAMPLES for f in samples):
        return []
    features = [f for f in samples if f is not None]
    found = []
    for kind, figure in (("latency-median", statistics.median), ("latency-p95", _p95)):
        if kind == "latency-p95" and min(len(f.samples) for f in features) < MIN_P95_SAMPLES:
            continue
        values = [float(figure(f.samples)) for f in features]
        base, value = values[:-1], values[-1]
        lo, hi = min(base), max(base)
        spread = hi / lo if lo > 0 else math.inf
        if spread > settings.latency_ratio:
            noise.append(Noise(kind, key.endpoint, "latency", f"{base[0]:.4f} s",
                               f"{base[1]:.4f} s"))
        allowed = max(settings.latency_ratio, spread)
        if value > hi * allowed and value - hi > settings.latency_floor:
            why = (f"{kind.replace('-', ' ')} grew {value / hi:.1f}x: {hi:.4f} s in the "
                   f"baseline, {value:.4f} s in the candidate (threshold {allowed:.2g}x)")
            found.append(Difference(kind, key.endpoint, "latency", f"{hi:.4f} s",
                                    f"{value:.4f} s", why, [""], 1, features[0].example(),
                                    features[-1].example()))
    return found


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

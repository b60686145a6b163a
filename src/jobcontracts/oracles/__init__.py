"""Oracles: one function per rule kind, registered by name in `REGISTRY`."""

from . import (
    batches,
    http,
    idempotency,
    openapi,
    projection,
    requests,
    resources,
    sequences,
    sse,
    sse_across,
)
from .judge import judge_trace
from .registry import REGISTRY, Kind, Verdict, Violation, rule_kind

__all__ = [
           "REGISTRY",
           "Kind",
           "Verdict",
           "Violation",
           "batches",
           "http",
           "idempotency",
           "judge_trace",
           "openapi",
           "projection",
           "requests",
           "resources",
           "rule_kind",
           "sequences",
           "sse",
           "sse_across",
]

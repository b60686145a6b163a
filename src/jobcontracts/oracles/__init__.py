"""Oracles: one function per rule kind, registered by name in `REGISTRY`."""

from . import batches, http, idempotency, projection, requests
from .judge import judge_trace
from .registry import REGISTRY, Kind, Verdict, Violation, rule_kind

__all__ = ["REGISTRY", "Kind", "Verdict", "Violation", "judge_trace", "rule_kind",
           "batches", "http", "idempotency", "projection", "requests"]

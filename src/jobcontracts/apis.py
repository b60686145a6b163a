"""What each API under test brings: its driver, its simulator and faults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

API_NAMES = ["specstep"]


@dataclass(frozen=True)
class ApiSupport:
    driver: Callable[..., Any]
    simulator: Callable[..., Any]
    faults: Mapping[str, Any]
    api_key: str
    base_url: str


def api_support(api: str) -> ApiSupport:
    if api == "specstep":
        from .drivers.specstep import SpecStepDriver
        from .sims.specstep import DEFAULT_API_KEY, FAULTS, SpecStepSimulator

        return ApiSupport(SpecStepDriver, SpecStepSimulator, FAULTS, DEFAULT_API_KEY,
                          "https://specstep.sim")
    raise KeyError(f"no API named {api!r}; known: {', '.join(API_NAMES)}")

"""What each API under test brings: its driver, its simulator and faults."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

API_NAMES = ["specstep", "pos", "interrogation", "jobs"]
#: The contract file of each API, under the contracts directory.
CONTRACT_FILES = {"specstep": "specstep.yaml", "pos": "pos_adapter_scripts.yaml",
                  "interrogation": "interrogation.yaml", "jobs": "jobs.yaml"}


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
    if api == "pos":
        from .drivers.pos import PosDriver
        from .sims.pos import DEFAULT_API_KEY as POS_KEY
        from .sims.pos import FAULTS as POS_FAULTS
        from .sims.pos import PosSimulator

        return ApiSupport(PosDriver, PosSimulator, POS_FAULTS, POS_KEY, "https://pos.sim")
    if api == "interrogation":
        from .drivers.interrogation import InterrogationDriver
        from .sims.interrogation import BASE_URL as IA_URL
        from .sims.interrogation import DEFAULT_API_KEY as IA_KEY
        from .sims.interrogation import FAULTS as IA_FAULTS
        from .sims.interrogation import InterrogationSimulator

        return ApiSupport(InterrogationDriver, InterrogationSimulator, IA_FAULTS, IA_KEY, IA_URL)
    if api == "jobs":
        from .drivers.jobs import JobsDriver
        from .sims.jobs import BASE_URL as JOBS_URL
        from .sims.jobs import DEFAULT_API_KEY as JOBS_KEY
        from .sims.jobs import FAULTS as JOBS_FAULTS
        from .sims.jobs import JobsSimulator

        return ApiSupport(JobsDriver, JobsSimulator, JOBS_FAULTS, JOBS_KEY, JOBS_URL)
    raise KeyError(f"no API named {api!r}; known: {', '.join(API_NAMES)}")

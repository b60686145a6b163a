"""What every endpoint of the jobs simulator is handed: the request being
handled, and the ids it mints."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from jobcontracts.sims.common import UuidMint

Handler = Callable[..., httpx.Response]


@dataclass
class Ctx:
    """One request being handled."""

    request: httpx.Request
    now: float
    key: str  # the API key it is served as ("" outside /v1)

    @property
    def base(self) -> str:
        """`scheme://host[:port]` as the client addressed the simulator."""
        url = self.request.url
        return f"{url.scheme}://{url.netloc.decode('ascii')}"


class IdMint:
    """Ids in the variant's style: UUIDs, or `<prefix>_<24 hex>`, from a seeded
    generator (reproducible)."""

    def __init__(self, rng: random.Random, style: str) -> None:
        self._uuid = UuidMint(rng)
        self.style = style

    def __call__(self, prefix: str) -> str:
        minted = self._uuid()
        return minted if self.style == "uuid" else f"{prefix}_{minted.replace('-', '')[:24]}"

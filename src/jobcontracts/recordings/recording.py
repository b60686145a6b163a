"""`pytest --record DIR` and `pytest --replay DIR`: where cassettes go, and the
run manifest that lets a replay reproduce the recorded run.

A recording directory holds one cassette per test and API,
`DIR/<api>/<test file>/<test name>.yaml`, and `DIR/jobcontracts-run.yaml`:
the seed and the options that shaped the traffic (the target kind, budgets,
poll interval, probe size). A replay takes them from there, because the same
seed and options make the same requests, which is what lets a cassette answer
them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

MANIFEST = "jobcontracts-run.yaml"
#: Options that change which requests a run sends; a replay must use the recorded ones.
TRAFFIC_OPTIONS = ("max_generations", "max_requests", "rate_limit_probe", "poll_interval",
                   "live_deadline", "request_timeout", "contract_setting", "pos_job_id")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=,+]+")


class ReplayError(Exception):
    """A replay directory that cannot drive this run."""


def cassette_path(directory: Path, api: str, nodeid: str) -> Path:
    """`tests/s/test_auth.py::test_x[a b]` → `DIR/<api>/tests/s/test_auth/test_x[a_b].yaml`."""
    file, _, name = nodeid.partition("::")
    parts = [_UNSAFE.sub("_", p) or "_" for p in file.removesuffix(".py").split("/")]
    test = _UNSAFE.sub("_", name.replace("::", ".")) or "_"
    return directory.joinpath(api, *parts, f"{test[:200]}.yaml")


def write_manifest(directory: Path, seed: str, targets: dict[str, dict[str, Any]],
                   options: dict[str, Any], profile: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {"seed": seed, "profile": profile, "targets": targets, "options": options}
    (directory / MANIFEST).write_text(yaml.safe_dump(manifest, sort_keys=False),
                                      encoding="utf-8")


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    try:
        manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise ReplayError(f"--replay {directory}: no {MANIFEST} here; record with "
                          f"`pytest --record {directory}` first") from None
    except yaml.YAMLError as exc:
        raise ReplayError(f"{path}: not YAML: {exc}") from None
    if not isinstance(manifest, dict) or not {"seed", "targets", "options"} <= manifest.keys():
        raise ReplayError(f"{path}: not a jobcontracts run manifest "
                          "(expected seed, targets and options)")
    return manifest

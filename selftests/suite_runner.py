"""Run the contract suite in a subprocess, as a user would, and read its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SuiteRun:
    returncode: int
    output: str
    rules: dict[str, dict[str, str]]

    def with_status(self, status: str) -> set[str]:
        return {rule_id for rule_id, entry in self.rules.items() if entry["status"] == status}


def run_suite(tmp_path: Path, *args: str, timeout: float = 600,
              env: dict[str, str] | None = None) -> SuiteRun:
    report = tmp_path / "report.json"
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("JOBCONTRACTS_", "PYTEST_", "SPECSTEP_", "POS_",
                                      "INTERROGATION_"))}
    env = {**inherited, **(env or {})}
    command = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
               "-p", "no:xdist", "--contract-report", str(report), *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    rules = {}
    if report.exists():
        rules = {r["id"]: r for r in json.loads(report.read_text())["rules"]}
    return SuiteRun(done.returncode, done.stdout + done.stderr, rules)

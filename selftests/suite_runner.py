"""Run the contract suite in a subprocess, as a user would, and read its report.

Runs start from a warm zygote (`zygote.py`: the engine imported once, one fork
per run); JOBCONTRACTS_COLD_RUNS=1 starts a new interpreter for each instead."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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
    # PYTHONDONTWRITEBYTECODE would make every run compile (and assertion-rewrite)
    # each module afresh: seconds a user who runs the suite twice never pays.
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("JOBCONTRACTS_", "PYTEST_", "SPECSTEP_", "POS_",
                                      "INTERROGATION_", "JOBS_"))
                 and k != "PYTHONDONTWRITEBYTECODE"}
    env = {**inherited, **(env or {})}
    pytest_args = ["tests", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                   "--contract-report", str(report), *args]
    if os.environ.get("JOBCONTRACTS_COLD_RUNS") == "1":
        done = subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        returncode, output = done.returncode, done.stdout + done.stderr
    else:
        log = tmp_path / "suite-output.txt"
        returncode = _zygote().run(pytest_args, env, log, timeout)
        output = log.read_text(errors="replace")
    rules = {}
    if report.exists():
        rules = {r["id"]: r for r in json.loads(report.read_text())["rules"]}
    return SuiteRun(returncode, output, rules)


class Zygote:
    """A warm zygote of the checkout `root` (one per selftest process, started
    from this one); runs go through it one at a time. `env` is the zygote's own
    environment (default: this process's, without PYTHONDONTWRITEBYTECODE)."""

    def __init__(self, root: Path = ROOT, env: dict[str, str] | None = None) -> None:
        self.root = root
        if env is None:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.process = subprocess.Popen(
            [sys.executable, str(root / "selftests" / "zygote.py")], cwd=root, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lock = threading.Lock()
        self._read(self.process.stdout, 120)

    def run(self, args: list[str], env: dict[str, str], output: Path, timeout: float) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self.lock:
            request = {"args": args, "env": env, "cwd": str(self.root), "output": str(output)}
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            pid = self._read(self.process.stdout, 60)["pid"]
            try:
                return int(self._read(self.process.stdout, timeout)["returncode"])
            except subprocess.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
                self._read(self.process.stdout, 60)
                raise

    def _read(self, stream: IO[str] | None, timeout: float) -> dict[str, Any]:
        assert stream is not None
        end = time.monotonic() + timeout
        while not select.select([stream], [], [], max(0.0, end - time.monotonic()))[0]:
            if time.monotonic() >= end:
                raise subprocess.TimeoutExpired(["zygote"], timeout)
        line = stream.readline()
        if not line:
            raise RuntimeError(f"the suite zygote exited ({self.process.poll()})")
        return dict(json.loads(line))


    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


_ZYGOTE: list[Zygote] = []
_ZYGOTE_LOCK = threading.Lock()


def _zygote() -> Zygote:
    with _ZYGOTE_LOCK:
        if not _ZYGOTE or _ZYGOTE[0].process.poll() is not None:
            _ZYGOTE[:] = [Zygote()]
        return _ZYGOTE[0]

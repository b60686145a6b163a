"""The document's own Python sample, unmodified, against `jobcontracts serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jobcontracts.serve import served
from jobcontracts.sims.specstep import DEFAULT_API_KEY

from .suite_runner import ROOT

DOCUMENT = ROOT / "specs" / "specstep-language-samples.md"
FIRST_LINE = '"""End-to-end SpecStep flow'
LAST_LINE = 'print(f"Package downloaded to {zip_path}")'


def python_sample() -> str:
    text = DOCUMENT.read_text(encoding="utf-8")
    start = text.index(FIRST_LINE)
    return text[start : text.index(LAST_LINE, start) + len(LAST_LINE)] + "\n"


def test_python_sample_downloads_the_package(tmp_path: Path) -> None:
    script = tmp_path / "sample.py"
    script.write_text(python_sample(), encoding="utf-8")
    # The sample sleeps 3 s between turn polls and 15 s between generation
    # polls; at speed 100 a 4-minute Fast generation fits in two of its polls.
    # It raises on a failed turn rather than resubmitting, so the seed is one
    # whose first turn job succeeds.
    with served("specstep", speed=100, seed=0) as url:
        env = {**os.environ, "SPECSTEP_API_URL": url, "SPECSTEP_API_KEY": DEFAULT_API_KEY}
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Package downloaded to" in done.stdout
    archives = list(tmp_path.glob("*.zip"))
    assert len(archives) == 1 and archives[0].stat().st_size > 0

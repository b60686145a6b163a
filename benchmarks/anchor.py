"""The anchor a benchmark measures this tree beside: a worktree of an earlier
revision, each run importing from its own tree's `src`."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def worktree(rev: str, where: Path) -> Iterator[Path]:
    """A detached worktree of `rev` at `where`, removed afterwards."""
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(where), rev],
                   cwd=ROOT, check=True)
    try:
        yield where
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT,
                       check=False)


def tree_env(tree: Path) -> dict[str, str]:
    """The environment of a run importing from `tree`, bytecode caches kept
    (as a user's second run has them)."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env

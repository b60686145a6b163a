"""The `diff` and `compare` subcommands, added to `jobcontracts` as one block."""

from __future__ import annotations

import argparse
from typing import Any

from . import compare
from . import run as diff_run


def add_commands(commands: Any) -> dict[str, argparse.ArgumentParser]:
    """Add both subcommands to an `add_subparsers()` object; their parsers by name."""
    diff = commands.add_parser(
        "diff", help="what changed between two recordings of the release and one of a "
                     "candidate, with no rule broken (noise learned from the release's two)")
    diff_run.add_arguments(diff)
    comparing = commands.add_parser(
        "compare", help="record the suite against a release twice and a candidate once, "
                        "then diff")
    compare.add_arguments(comparing)
    return {"diff": diff, "compare": comparing}


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "compare":
        return compare.run(args, parser)
    return diff_run.run(args, parser)

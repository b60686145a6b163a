"""Hypothesis's own printer back for every test schemathesis did not build.

Importing schemathesis swaps hypothesis's `RepresentationPrinter`, process-wide,
for one that prints nothing (its coverage phase would spend minutes printing
large cases). Every other property test in the process then reports
`Failing test case: test_x(key=, message=)`: the example a bug report needs,
blank. Around each test that is not schemathesis's own, the real printer is
put back, and schemathesis's restored afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def real_printer(item: pytest.Function) -> Iterator[None]:
    core = sys.modules.get("hypothesis.core")
    if core is None or type(item).__module__.startswith("schemathesis"):
        yield
        return
    from hypothesis.vendor import pretty

    swapped = getattr(core, "RepresentationPrinter", None)
    if swapped is None or swapped is pretty.RepresentationPrinter:
        yield
        return
    core.RepresentationPrinter = pretty.RepresentationPrinter  # type: ignore[attr-defined]
    try:
        yield
    finally:
        core.RepresentationPrinter = swapped  # type: ignore[attr-defined]

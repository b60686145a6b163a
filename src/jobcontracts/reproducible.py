"""Make `--hypothesis-seed N` reproduce the same examples in any invocation.

Hypothesis mixes into its draws "local constants": literals it scrapes from
every non-library module imported so far. That pool depends on which test
files were collected, on xdist's split and on what earlier tests imported, so
a seed alone does not fix the examples: the `reproduce:` line of a failure
would draw other examples, and a `--replay` would send requests its cassette
never saw. With the pool left empty the examples depend on the seed alone.
Hypothesis has no setting for this, so the pool's loader is replaced; if its
internals move, this does nothing and runs stay as reproducible as before.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis that moved its internals
        return
    pool = getattr(providers, "_local_constants", None)
    if pool is None or not callable(getattr(providers, "_get_local_constants", None)):
        return  # pragma: no cover
    empty = type(pool)()

    def no_local_constants() -> Any:
        return empty

    providers._get_local_constants = no_local_constants

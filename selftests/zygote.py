"""A warm start for the suite runs the selftests make: a process that has
imported the engine and its libraries once, and forks a child per run.

Each child is the run a user makes (`pytest tests ...` in the project's root,
with its own environment, options, collection and report), minus the second
it would spend importing pytest, hypothesis, schemathesis, httpx, starlette and
the simulators afresh. Which modules those are it learns from one child that
collects every API (`_learn_imports`); it imports none of the project's test
modules and conftests, which each run imports (and assertion-rewrites) itself.
It also fills one process-wide cache that a cold run fills the same way on its
first collection (`_fill_caches`). It starts no thread and no pytest session,
so a child is as clean as a new interpreter that has collected once.

Protocol, one JSON object per line on stdin: `{"args", "env", "cwd", "output"}`;
the zygote forks, the child runs `pytest.main(args)` with its output in the
file `output`, and the zygote answers `{"pid"}` at once, then `{"returncode"}`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import warnings
from collections.abc import Iterator

#: What a suite run imports anyway; importing them here is the whole point.
WARM = ("pytest", "_hypothesis_pytestplugin", "hypothesis", "hypothesis.stateful",
        "schemathesis", "schemathesis.pytest", "httpx", "respx", "jsonschema", "pydantic",
        "yaml", "uvicorn", "starlette.applications",
        "jobcontracts.plugin", "jobcontracts.session", "jobcontracts.fuzzing",
        "jobcontracts.strategies", "jobcontracts.strategies_interrogation",
        "jobcontracts.drivers.specstep", "jobcontracts.drivers.pos",
        "jobcontracts.drivers.interrogation", "jobcontracts.sims.specstep",
        "jobcontracts.sims.pos", "jobcontracts.sims.interrogation")

ALREADY_IMPORTED = ("-W", "ignore:Module already imported so cannot be rewritten")
#: One collection of every API: whatever it imports, each run imports too.
LEARN = ("tests", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--api", "specstep", "--api", "pos", "--api", "interrogation", "--api", "jobs")
#: The environment a suite run would read its target from: never the learner's.
TARGET_ENV = ("JOBCONTRACTS_", "PYTEST_", "SPECSTEP_", "POS_", "INTERROGATION_", "JOBS_")


def _learn_imports(cwd: str, reply: int) -> list[str]:
    """The modules, outside the project's tests, that collecting every API imports."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.close(reply)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        for name in [k for k in os.environ if k.startswith(TARGET_ENV)]:
            del os.environ[name]
        os.chdir(cwd)
        names: list[str] = []
        try:
            import pytest

            pytest.main([*ALREADY_IMPORTED, *LEARN])
            names = [name for name, module in list(sys.modules.items())
                     if not _of_the_project(cwd, getattr(module, "__file__", None) or "")]
        finally:
            with os.fdopen(write, "w") as out:
                out.write(json.dumps(names))
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        learned = answer.read()
    os.waitpid(pid, 0)
    return list(json.loads(learned or "[]"))


def _of_the_project(cwd: str, path: str) -> bool:
    """A test module or conftest of the project (not its engine under src/, not
    a library in a virtual environment inside the checkout)."""
    return (path.startswith(cwd + os.sep) and "site-packages" not in path
            and not path.startswith(os.path.join(cwd, "src", "")))


def _fill_caches() -> None:
    """schemathesis draws its invalid-enum candidates once per process, by a
    seeded draw that rejects until hypothesis gives up (about 0.6 s): the same
    values in every process, so the zygote draws them for all its children."""
    try:
        from schemathesis.specs.openapi.coverage._schema import _invalid_enum_candidates
    except ImportError:  # a schemathesis without that cache: nothing to fill
        return
    _invalid_enum_candidates()


@contextlib.contextmanager
def _initializing_quietly() -> Iterator[None]:
    """Hypothesis's plugin, imported in WARM, counts what follows as pytest's
    initialization (which a run's session start ends) and warns of each draw
    or storage read in it. Silenced here: a warning silenced leaves no mark
    for a child, whose run then warns of its own side effects as any run does."""
    from hypothesis.errors import HypothesisSideeffectWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HypothesisSideeffectWarning)
        yield


def _run_child(request: dict[str, object], reply: int) -> None:
    os.close(reply)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    output = os.open(str(request["output"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.close(output)
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
    code = 3
    try:
        import pytest

        # The plugins the zygote imported (respx, hypothesis, schemathesis) are
        # not assertion-rewritten in the child: their own asserts, not the suite's.
        args = [*ALREADY_IMPORTED, *(str(a) for a in request["args"])]  # type: ignore[attr-defined]
        code = int(pytest.main(args))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    reply = os.dup(1)
    os.dup2(2, 1)  # nothing the imports print may corrupt the replies
    for name in WARM:
        importlib.import_module(name)
    learned = _learn_imports(os.getcwd(), reply)
    with _initializing_quietly():
        for name in learned:
            if name not in sys.modules and not name.startswith("__"):
                # A module only importable in its own context is left to the run.
                with contextlib.suppress(Exception):
                    importlib.import_module(name)
        _fill_caches()
    out = os.fdopen(reply, "w", buffering=1)
    out.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _run_child(request, reply)
        out.write(json.dumps({"pid": pid}) + "\n")
        _, status = os.waitpid(pid, 0)
        out.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")


if __name__ == "__main__":
    main()

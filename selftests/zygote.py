"""A warm start for the suite runs the selftests make: a process that has
imported the engine and its libraries once, and forks a child per run.

Each child is the run a user makes (`pytest tests ...` in the project's root,
with its own environment, options, collection and report), minus the second
it would spend importing pytest, hypothesis, schemathesis, httpx, starlette and
the simulators afresh. The zygote imports and starts nothing else: no thread,
no test module, no pytest session, so a child is as clean as a new interpreter.

Protocol, one JSON object per line on stdin: `{"args", "env", "cwd", "output"}`;
the zygote forks, the child runs `pytest.main(args)` with its output in the
file `output`, and the zygote answers `{"pid"}` at once, then `{"returncode"}`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys

#: What a suite run imports anyway; importing them here is the whole point.
WARM = ("pytest", "hypothesis", "hypothesis.stateful", "schemathesis", "schemathesis.pytest",
        "httpx", "respx", "jsonschema", "pydantic", "yaml", "uvicorn", "starlette.applications",
        "jobcontracts.plugin", "jobcontracts.session", "jobcontracts.fuzzing",
        "jobcontracts.strategies", "jobcontracts.strategies_interrogation",
        "jobcontracts.drivers.specstep", "jobcontracts.drivers.pos",
        "jobcontracts.drivers.interrogation", "jobcontracts.sims.specstep",
        "jobcontracts.sims.pos", "jobcontracts.sims.interrogation")

ALREADY_IMPORTED = ("-W", "ignore:Module already imported so cannot be rewritten")


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
    for name in WARM:
        importlib.import_module(name)
    reply = os.dup(1)
    os.dup2(2, 1)  # nothing the imports print may corrupt the replies
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

"""Lawful drifts of the convert/goal jobs simulator (`jobcontracts serve jobs --drift NAME`).

Each changes what a client sees without breaking a rule of `contracts/jobs.yaml`
(see `sims/drift.py`): the suite passes against it, `jobcontracts compare`
reports it. JOB-MODEL-1 decides where a drift may go: the core models
(`File`, `ConvertJob`, `GoalJob`, ...) are strict, so a key more there would
be a violation; a key more goes on an open model (`Workflow`), and a core
model changes only within its types (a nullable field now always null, a
shorter text). The event WebSocket is not answered through `handle`
(`serve.py` carries `connect_events`), so the stream's drift is a forced
choice of the simulator itself, as are the error codes, the initial state
and `Retry-After`.
"""

from __future__ import annotations

from jobcontracts.sims.drift import Drift, Edit, add_keys, delay, set_fields, shorten_texts

_GOAL = r"/v1/goals/[^/]+"
_CONVERT = r"/v1/convert/[^/]+"
_WORKFLOW = r"/v1/workflows/[^/]+"
_NULL_ESTIMATE = set_fields({"estimated_duration": None})
_SHORT_MESSAGE = shorten_texts("agent_message", 1 / 3)

_DRIFT_LIST = (
    Drift("error-code-upper",
          "Error codes are upper case: NOT_FOUND, INVALID_REQUEST instead of not_found, ...",
          choices={"error_code_style": "upper"}),
    Drift("workflow-key-added",
          "Workflow records (an open model) carry one more key, region.",
          respond=(Edit("GET", _WORKFLOW, add_keys({"region": "eu-west-1"}), (200,)),
                   Edit("PATCH", _WORKFLOW, add_keys({"region": "eu-west-1"}), (200,)))),
    Drift("estimate-always-null",
          "A convert job's estimated_duration is always null.",
          respond=(Edit("GET", _CONVERT, _NULL_ESTIMATE, (200,)),
                   Edit("POST", r"/v1/convert", _NULL_ESTIMATE, (202,)))),
    Drift("slow-polls",
          "Job polls (goal and convert jobs) answer 150 ms later.",
          respond=(Edit("GET", _GOAL, delay(0.15)),
                   Edit("GET", _CONVERT, delay(0.15)))),
    Drift("retry-after-longer",
          "A 429's Retry-After asks for three seconds more (4 s instead of 1 s).",
          choices={"retry_after_padding": 3}),
    Drift("transitions-announced",
          "Every non-terminal status change is also announced by an orchestration_transition "
          "event on the goal's WebSocket (before: only queued and executing).",
          choices={"transition_events": "every"}),
    Drift("agent-messages-cut-short",
          "A goal job's agent_message is cut to a third of its length.",
          respond=(Edit("*", r"/v1/goals(/[^/]+(/confirm|/cancel|/slots/[^/]+)?)?",
                        _SHORT_MESSAGE, (200, 202)),)),
    Drift("created-at-once",
          "A new goal job starts created, not draft (a state a client may have waited for).",
          choices={"initial_goal_status": "created"}),
)

DRIFTS = {d.name: d for d in _DRIFT_LIST}

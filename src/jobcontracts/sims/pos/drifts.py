"""Lawful drifts of the POS adapter-scripts simulator (`jobcontracts serve pos --drift NAME`).

Each changes what a client sees without breaking a rule of the contract (see
`sims/drift.py`): forced variant choices, or edits of the job record.
"""

from __future__ import annotations

from jobcontracts.sims.drift import Drift, Edit, add_keys, shorten_texts

_JOB = r"/api/v1/adapter-scripts/jobs/[^/]+"

_DRIFT_LIST = (
    Drift("invalid-body-422",
          "A JSON object that breaks the request schema is refused with 422 instead of 400.",
          choices={"invalid_body_status": 422}),
    Drift("error-field-blank",
          "The error envelope's field is \"\" instead of naming the culprit.",
          choices={"error_field": "blank"}),
    Drift("job-key-added",
          "The job record carries one more key, queueRegion.",
          respond=(Edit("GET", _JOB, add_keys({"queueRegion": "eu-west-1"}, under="job"),
                        (200,)),)),
    Drift("log-messages-cut-short",
          "Log messages are cut to a third of their length.",
          respond=(Edit("*", _JOB + r"(/respond)?", shorten_texts("job.logs[].message", 1 / 3),
                        (200,)),)),
)

DRIFTS = {d.name: d for d in _DRIFT_LIST}

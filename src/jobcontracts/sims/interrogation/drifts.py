"""Lawful drifts of the Interrogation Agent simulator
(`jobcontracts serve interrogation --drift NAME`).

Each changes what a client sees without breaking a rule of the contract (see
`sims/drift.py`); all are the server's own free choices, forced.
"""

from __future__ import annotations

from jobcontracts.sims.drift import Drift

_DRIFT_LIST = (
    Drift("more-hypotheses",
          "Every run explores four hypotheses (two or three before).",
          choices={"hypotheses": (4,)}),
    Drift("fewer-messages",
          "One question/answer pair per hypothesis (two to five before).",
          choices={"pairs": (1, 1)}),
    Drift("error-shape-detail",
          "Errors are {\"detail\": ...} instead of the {\"error\": {...}} envelope.",
          choices={"error_shape": "detail"}),
    Drift("no-updates",
          "No agent.update event for each interview message.",
          choices={"update_per_message": False}),
)

DRIFTS = {d.name: d for d in _DRIFT_LIST}

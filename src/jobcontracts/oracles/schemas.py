"""JSON Schema checks that most values pass: jsonschema-rs first, jsonschema decides.

Judging a long recording validates every request body and every error body
against a small schema, and almost all of them pass. `jsonschema` (Python)
spends tens of microseconds on each (19 us on a one-field turn body);
`jsonschema-rs` (Rust, already installed for schemathesis) under one. So a
value is first asked of jsonschema-rs, and only one it rejects, or fails to
read, is asked of `jsonschema`, whose answer and messages stand.

A value both accept or both reject is judged as `jsonschema` alone would.
They can part only where the Rust side accepts what the Python side refuses,
and the known differences run the other way: Python's `re` finds more in a
`pattern` (`\\d` and `\\w` match any script's digits and letters, `$` matches
before a final newline) than ECMA-262's regexes do.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, ValidationError


class Schema:
    """One schema, compiled once for each validator."""

    __slots__ = ("_fast", "validator")

    def __init__(self, schema: Any) -> None:
        self.validator = Draft202012Validator(schema)
        try:
            self._fast: Any = jsonschema_rs.Draft202012Validator(schema, offline=True)
        except Exception:  # a schema the Rust side cannot compile: Python alone
            self._fast = None

    def _passes_fast(self, value: Any) -> bool:
        if self._fast is None:
            return False
        try:
            return bool(self._fast.is_valid(value))
        except Exception:  # a value it cannot read: Python decides
            return False

    def is_valid(self, value: Any) -> bool:
        return self._passes_fast(value) or self.validator.is_valid(value)

    def first_error(self, value: Any) -> ValidationError | None:
        if self._passes_fast(value):
            return None
        return next(iter(self.validator.iter_errors(value)), None)


def schema_for(schema: Any) -> Schema:
    """The compiled `schema`, shared by every caller that passes an equal one."""
    return _compiled(json.dumps(schema, sort_keys=True))


@cache
def _compiled(schema_text: str) -> Schema:
    return Schema(json.loads(schema_text))

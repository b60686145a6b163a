"""`oracles/schemas.py`: jsonschema-rs answers first, jsonschema's answer stands."""

from __future__ import annotations

import math
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from jobcontracts.oracles.schemas import Schema, schema_for

BODY = {"type": "object", "required": ["message"], "additionalProperties": False,
        "properties": {"message": {"type": "string", "minLength": 1, "maxLength": 5},
                       "count": {"type": "integer", "minimum": 0},
                       "key": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,8}$"}}}

VALUES: list[Any] = [
    {"message": "hi"}, {"message": "hi", "count": 3, "key": "a.b:c"}, {}, {"message": ""},
    {"message": "toolong"}, {"message": "hi", "extra": 1}, {"message": 1},
    {"message": "hi", "count": -1}, {"message": "hi", "count": 1.5},
    {"message": "hi", "count": True},
    {"message": "hi", "key": "sp ace"}, {"message": "hi", "key": "é"}, {"message": "héllo"},
    {"message": "hi", "count": 2**70}, {"message": "hi", "count": -(2**70)},
    {"message": "hi", "count": math.nan}, [], None, "text", 2**64,
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_answer_is_jsonschemas(value: Any) -> None:
    python = Draft202012Validator(BODY)
    schema = schema_for(BODY)
    assert schema.is_valid(value) == python.is_valid(value)
    error = schema.first_error(value)
    expected = next(iter(python.iter_errors(value)), None)
    assert (error and error.message) == (expected and expected.message)


def test_a_schema_the_rust_side_cannot_compile_is_judged_by_python_alone() -> None:
    only_python = {"type": "string", "pattern": r"ab\Z"}  # \Z: Python's end of text
    schema = Schema(only_python)
    assert schema._fast is None
    assert schema.is_valid("cab") and not schema.is_valid("abc")
    assert schema.first_error("abc") is not None


def test_equal_schemas_share_one_compiled_schema() -> None:
    assert schema_for({"type": "string", "minLength": 1}) is schema_for(
        {"minLength": 1, "type": "string"})

"""Is a request "otherwise valid": could no other lawful refusal explain its answer?

A rule that demands one status (`409` for a turn on a completed interview)
judges a request only when nothing else about it may lawfully be refused
first. The documents order no checks, and rule on few inputs: where they are
silent (an empty or huge string, an extra JSON field, control or format
characters, a header that breaks its schema) a conforming server may answer
`400` or `422` before it looks at what the rule is about. Such a request
proves nothing about the rule, so it is not judged by it; the generic rules
(no `5xx`, a JSON error body) still judge it.
"""

from __future__ import annotations

import unicodedata
import weakref
from collections.abc import Collection, Mapping
from typing import Any

from ..contract import Endpoint
from ..trace import NOT_JSON, Exchange
from .schemas import Schema, schema_for

#: Longer strings may lawfully be refused as too long (no document sets a limit).
PLAIN_MAX_CHARS = 1000
#: Unicode categories of characters a server may refuse: controls, format
#: characters (zero width, bidi overrides), surrogates, private use, unassigned.
_ODD_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def plain_text(value: str) -> bool:
    """Ordinary text no server refuses: 1..PLAIN_MAX_CHARS printable characters,
    not only white space, none outside the Basic Multilingual Plane."""
    if not value.strip() or len(value) > PLAIN_MAX_CHARS:
        return False
    if value.isascii() and value.isprintable():  # no control character: the usual text
        return True
    return all(ord(ch) <= 0xFFFF and unicodedata.category(ch) not in _ODD_CATEGORIES
               for ch in value)


def _plain_json(value: Any) -> bool:
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, list):
        return all(_plain_json(item) for item in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and plain_text(k) and _plain_json(v)
                   for k, v in value.items())
    return True


#: Answers per exchange: a trace is judged again after every fuzzed case, and an
#: exchange's request never changes.
_ANSWERS: weakref.WeakKeyDictionary[
    Exchange, dict[tuple[int, frozenset[str]], tuple[Endpoint, bool]]] = weakref.WeakKeyDictionary()


def otherwise_valid(ex: Exchange, endpoint: Endpoint, exempt: Collection[str] = ()) -> bool:
    """Does the request, apart from the body fields and headers named in
    `exempt`, carry only what its endpoint declares, valid and plain?"""
    known = _ANSWERS.setdefault(ex, {})
    key = (id(endpoint), frozenset(exempt))
    if key not in known or known[key][0] is not endpoint:
        known[key] = (endpoint, _otherwise_valid(ex, endpoint, exempt))
    return known[key][1]


def _otherwise_valid(ex: Exchange, endpoint: Endpoint, exempt: Collection[str]) -> bool:
    for name, schema in endpoint.headers.items():
        if name in exempt:
            continue
        value = ex.request_header(name)
        if value is not None and not schema_for(schema).is_valid(value):
            return False
    body = ex.request_json
    if body is NOT_JSON:
        return not ex.request_body.strip()
    if endpoint.request is None:
        return body is None or body == {}
    if not isinstance(body, Mapping):
        return False
    declared = endpoint.request.get("properties", {})
    kept = {k: v for k, v in body.items() if k not in exempt}
    if set(kept) - set(declared):
        return False
    return _body_schema(endpoint, exempt).is_valid(kept) and _plain_json(kept)


#: The body schema with the exempt fields left out, per endpoint and exempt set.
_BODY_SCHEMAS: dict[tuple[int, frozenset[str]], tuple[Endpoint, Schema]] = {}


def _body_schema(endpoint: Endpoint, exempt: Collection[str]) -> Schema:
    key = (id(endpoint), frozenset(exempt))
    known = _BODY_SCHEMAS.get(key)
    if known is None or known[0] is not endpoint:
        request = endpoint.request or {}
        schema = {**request,
                  "required": [k for k in request.get("required", []) if k not in exempt],
                  "properties": {k: v for k, v in request.get("properties", {}).items()
                                 if k not in exempt}}
        known = _BODY_SCHEMAS[key] = (endpoint, schema_for(schema))
    return known[1]

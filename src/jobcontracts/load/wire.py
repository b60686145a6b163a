"""Exchanges as plain data, for Locust's worker-to-master messages (msgpack:
bytes travel as bytes) and for the files a worker may hand over instead."""

from __future__ import annotations

from typing import Any

from ..trace import Exchange, WsMessage


def to_wire(ex: Exchange) -> dict[str, Any]:
    return {"seq": ex.seq, "method": ex.method, "url": ex.url,
            "request_headers": dict(ex.request_headers), "request_body": bytes(ex.request_body),
            "status": ex.status, "response_headers": dict(ex.response_headers),
            "response_body": bytes(ex.response_body), "started_at": ex.started_at,
            "finished_at": ex.finished_at, "origin": ex.origin, "credential": ex.credential,
            "error": ex.error, "note": ex.note,
            "ws_messages": [[m.direction, m.time, m.data] for m in ex.ws_messages],
            "ws_close_code": ex.ws_close_code}


def from_wire(data: dict[str, Any], seq: int | None = None) -> Exchange:
    """The exchange again (`seq` renumbers it: the master's merged order)."""
    fields = {k: v for k, v in data.items() if k != "ws_messages"}
    if seq is not None:
        fields["seq"] = seq
    messages = tuple(WsMessage(str(d), float(t), m) for d, t, m in data.get("ws_messages", ()))
    return Exchange(**fields, ws_messages=messages)

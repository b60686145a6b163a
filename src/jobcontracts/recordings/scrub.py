"""Scrub secrets from exchanges before anything touches disk.

Credentials (`Authorization`, `X-Api-Key`, cookies), presigned-URL signature
parameters (`sig=`, `X-Amz-Signature=`, …) and every configured API key,
wherever it appears: headers, URLs, bodies. A scrubbed value becomes
`-redacted-`: it survives URL and JSON parsing unchanged (hyphens and
letters need no escaping), so a scrubbed cassette still replays and is
still judged (a download URL stays a URL), and no secret scanner mistakes
it for a token (it is not an unbroken run of token characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from urllib.parse import quote

from ..trace import Exchange, WsMessage

REDACTED = "-redacted-"

#: Headers whose whole value is a credential.
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "api-key", "x-auth-token",
    "cookie", "set-cookie",
})

#: Query parameters that sign or authorise a URL (Azure SAS, AWS SigV4, GCS, generic).
SIGNATURE_PARAMS = (
    "sig", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
    "x-goog-signature", "x-goog-credential", "token", "access_token", "api_key", "apikey",
    "key",
)

_SIGNED_PARAM = re.compile(
    r"(?i)(?P<lead>[?&](?:" + "|".join(map(re.escape, SIGNATURE_PARAMS)) + r")=)"
    r"(?P<value>[^&#\s\"'<>\\]+)")
_BEARER = re.compile(r"(?i)\b(?P<lead>bearer[ \t]+)(?P<value>[A-Za-z0-9._~+/=-]{8,})")


class Scrubber:
    """Replaces secrets in headers, URLs and bodies; `secrets` are literal keys."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if len(secret) >= 4 and secret != REDACTED:
                forms.update({secret, quote(secret, safe=""), quote(secret)})
        self._secrets = sorted(forms, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, REDACTED)
        value = _SIGNED_PARAM.sub(lambda m: m["lead"] + REDACTED, value)
        return _BEARER.sub(lambda m: m["lead"] + REDACTED, value)

    def body(self, value: bytes) -> bytes:
        if not value:
            return value
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            return self._binary(value)
        scrubbed = self.text(text)
        return value if scrubbed == text else scrubbed.encode("utf-8")

    def _binary(self, value: bytes) -> bytes:
        for secret in self._secrets:
            value = value.replace(secret.encode("utf-8"), REDACTED.encode("ascii"))
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: REDACTED if name.lower() in SECRET_HEADERS else self.text(value)
                for name, value in headers.items()}

    def message(self, message: WsMessage) -> WsMessage:
        """A WebSocket message with the secrets in its data replaced."""
        data = self.text(message.data) if isinstance(message.data, str) \
            else self.body(message.data)
        return message if data == message.data else replace(message, data=data)

    def exchange(self, exchange: Exchange) -> Exchange:
        """The exchange as it may be written down: URL, headers (the upgrade
        request's bearer token too), bodies, error and WebSocket messages
        scrubbed."""
        return replace(
            exchange, url=self.text(exchange.url),
            request_headers=self.headers(exchange.request_headers),
            request_body=self.body(exchange.request_body),
            response_headers=self.headers(exchange.response_headers),
            response_body=self.body(exchange.response_body),
            error=self.text(exchange.error) if exchange.error else exchange.error,
            ws_messages=tuple(self.message(m) for m in exchange.ws_messages))


def find_secrets(text: str, secrets: Iterable[str] = ()) -> list[str]:
    """What in `text` looks like a leaked secret: a configured key, a bearer
    token, or a signature parameter with a real value. For the selftests that
    audit every file the project writes."""
    found = [f"configured key {s[:4]}…" for s in secrets if len(s) >= 4 and s in text]
    found += [m[0] for m in _SIGNED_PARAM.finditer(text) if m["value"] != REDACTED]
    found += [m[0] for m in _BEARER.finditer(text) if m["value"] != REDACTED]
    return found

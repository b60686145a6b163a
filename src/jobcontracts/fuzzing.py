"""schemathesis, driven through the suite's own client and judged by the contract.

`api_schema("pos")` loads a contract's OpenAPI document (the published one as
published, plus what the contract assumes; see `openapi_export`) into
schemathesis. A test parametrized by it hands each generated `Case` to
`Fuzz.check(case)`, which

1. puts real resource ids into the path when the test has them (jobs the
   suite created, or ids given on the command line), so that cases reach
   resources in every state, not only 404s;
2. sends the case through the run's recording client: the same credential
   handling, `Retry-After` honouring, budgets and trace as every other test
   (the key never enters the case, so no schemathesis report can print it);
3. validates the answer with schemathesis's generic checks (no 5xx,
   documented status, content type and schema, invalid data refused) and
   with the contract's own rules, registered as one more schemathesis check:
   every rule, on the trace so far, asked what it finds about this answer
   (`judge_exchange`, which judges a check of one answer on that answer
   alone: no case re-validates the answers before it).
   The test's trace is judged whole once more when the test ends.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis import checks as st_checks
from schemathesis.core import NotSet

from .loader import load_contract
from .openapi_export import export
from .oracles.judge import judge_exchange
from .recordings.scrub import REDACTED
from .session import ApiRun
from .trace import Exchange

#: schemathesis's checks of one answer that ask nothing more of the server.
#: Left out: positive_data_acceptance (a valid body may still name a resource
#: that is not there; the contract's rules say which refusals are lawful) and
#: the checks that send requests of their own (ignored_auth, use_after_free,
#: ensure_resource_availability): the contract's auth and state rules judge those.
GENERIC_CHECKS = (
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
    st_checks.negative_data_rejection,
    st_checks.missing_required_header,
)
MULTIPART = "multipart/form-data"
#: A placeholder the case carries where the credential goes: schemathesis sees
#: that one was sent; the real key stays in the client.
KEY_PLACEHOLDER = REDACTED

Pools = Mapping[str, Callable[[], Sequence[str]]]


def api_schema(contract_file: Path) -> Any:
    """The contract's OpenAPI document as a schemathesis schema (`fuzzed_document`)."""
    schema = schemathesis.openapi.from_dict(fuzzed_document(contract_file))
    # The run's seed, so that `--hypothesis-seed N` reproduces the cases too
    # (schemathesis otherwise draws a seed of its own for every run).
    seed = os.environ.get("JOBCONTRACTS_SEED", "")
    if seed:
        schema.config.seed = int(seed) if seed.isdigit() else zlib.crc32(seed.encode())
    return schema


def fuzzed_document(contract_file: Path) -> dict[str, Any]:
    """The contract's OpenAPI document without the operations a fuzzer must
    leave alone: event streams (the stream rules judge those), and, when the
    contract's live URL variable is set, every paid operation (a fuzzer would
    spend the user's money)."""
    contract = load_contract(contract_file)
    document = export(contract)
    live = bool(os.environ.get(contract.target.url_env))
    left_out = {(e.method.lower(), e.path) for e in contract.endpoints.values()
                if e.streams or (live and e.paid)}
    for path, operations in document["paths"].items():
        for method in [m for m in operations if (m, path) in left_out]:
            del operations[method]
    return document


class Fuzz:
    """One test's link between schemathesis and an `ApiRun`."""

    def __init__(self, run: ApiRun, pools: Pools | None = None) -> None:
        self.run = run
        self.pools = dict(pools or {})
        target = run.contract.target
        self.auth_header = target.auth_header if target.authenticated else ""

    def check(self, case: Any) -> Exchange:
        self._use_real_ids(case)
        exchange = self.send(case)
        response = _as_schemathesis_response(exchange, self.auth_header)
        checks = list(GENERIC_CHECKS)
        if case.media_type == MULTIPART:
            # A form part is bytes whatever the schema types it: a "wrong type"
            # negative case is a lawful upload on the wire. The contract's
            # upload rule judges the refusal the wire can show (no file part).
            checks.remove(st_checks.negative_data_rejection)
        case.validate_response(response, checks=checks,
                               additional_checks=[self._contract_check(exchange)])
        return exchange

    def _use_real_ids(self, case: Any) -> None:
        """Three times in four, a path parameter a pool knows becomes a real id,
        picked by the generated value (so the choice shrinks and replays)."""
        params = case.path_parameters or {}
        for name, pool in self.pools.items():
            if name not in params:
                continue
            drawn = str(params[name]).encode("utf-8", "surrogatepass")
            pick = zlib.crc32(drawn)
            ids = pool()
            if ids and pick % 4:
                params[name] = ids[pick % len(ids)]

    def send(self, case: Any) -> Exchange:
        headers = {k: str(v) for k, v in (case.headers or {}).items()}
        credential = "none"
        if self.auth_header:
            presented = next((k for k in headers if k.lower() == self.auth_header.lower()), None)
            credential = "valid" if presented is not None else "missing"
            if presented is not None:
                del headers[presented]
                case.headers[presented] = KEY_PLACEHOLDER
        body: Any = case.body
        kwargs: dict[str, Any] = {}
        if case.media_type == MULTIPART and not isinstance(body, NotSet):
            fields = case.as_transport_kwargs(base_url="http://case").get("files") or []
            kwargs["content"], content_type = multipart_body(fields)
            headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            headers["Content-Type"] = content_type
        elif isinstance(body, bytes | bytearray):
            kwargs["content"] = bytes(body)
        elif body is not None and not isinstance(body, NotSet):
            kwargs["json"] = body
        params = {name: quote(str(value), safe="")
                  for name, value in (case.path_parameters or {}).items()}
        path = case.path.format(**params) if params else case.path
        if case.query:
            path += "?" + urlencode(case.query, doseq=True)
        return self.run.client.request(case.method.upper(), path, headers=headers,
                                       credential=credential, note="schemathesis case",
                                       **kwargs)

    def _contract_check(self, exchange: Exchange) -> Callable[..., None]:
        """The contract's rules as a schemathesis check: every rule, judged on
        the run's trace so far (`judge_exchange`: only as much of it as each
        check needs); a violation that shows this answer fails this case."""
        run = self.run

        def contract_rules(ctx: Any, response: Any, case: Any) -> None:
            found = judge_exchange(run.contract, run.trace, exchange)
            if found:
                raise AssertionError(run.scrub.text("\n".join(v.render() for v in found)))

        contract_rules.__name__ = f"{run.contract.api}_contract_rules"
        return contract_rules


def multipart_body(fields: Sequence[tuple[str, Any]]) -> tuple[bytes, str]:
    """A `multipart/form-data` body (RFC 7578) from schemathesis's serialised
    form (`[(name, (filename | None, value)), ...]`, as `requests` takes it),
    with its Content-Type. Written here rather than by httpx, which sends a
    form with no file in it urlencoded: a case without the file part must
    still be the multipart request the contract judges. Quotes and line
    breaks in a name are percent-encoded, as HTML forms do."""
    boundary = f"jobcontracts-{zlib.crc32(repr(fields).encode()):08x}"
    chunks: list[bytes] = []
    for name, value in fields:
        filename, content = value if isinstance(value, tuple) else (None, value)
        data = content if isinstance(content, bytes) else str(content).encode(
            "utf-8", "surrogatepass")
        disposition = f'form-data; name="{_form_quote(name)}"'
        if filename is not None:
            disposition += f'; filename="{_form_quote(filename)}"'
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode(
            "utf-8", "surrogatepass") + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"{MULTIPART}; boundary={boundary}"


def _form_quote(text: Any) -> str:
    return str(text).replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _as_schemathesis_response(exchange: Exchange, auth_header: str) -> schemathesis.Response:
    """The exchange as schemathesis reads an answer. Its request is built field
    by field (what `requests.Request.prepare()` would do, minus re-encoding a
    URL that was sent already), the credential replaced by the case's
    placeholder: a failure report's curl line shows the request as sent,
    without the key."""
    if exchange.status == 0:
        raise AssertionError(f"no answer: {exchange.error} ({exchange.describe()})")
    request = requests.PreparedRequest()
    request.method, request.url = exchange.method, exchange.url
    request.headers = CaseInsensitiveDict(
        {name: KEY_PLACEHOLDER if auth_header and name.lower() == auth_header.lower() else value
         for name, value in exchange.request_headers.items()})
    request.body = exchange.request_body or None
    headers: dict[str, list[str]] = {}
    for name, value in exchange.response_headers.items():
        headers.setdefault(name.lower(), []).append(value)
    return schemathesis.Response(status_code=exchange.status, headers=headers,
                                 content=exchange.response_body, request=request,
                                 elapsed=max(0.0, exchange.finished_at - exchange.started_at),
                                 verify=True)

"""Read one long list out of a YAML mapping an item at a time.

A cassette is `{metadata, interactions: [...], version}`; the list may hold a
hundred thousand interactions. `stream_items` yields `(key, value)` for the
small top-level entries and `(list_key, item)` for each item of the list, so
memory holds one item. Block-style lists (what PyYAML, and so VCR.py, write)
are cut at their `- ` lines and each item is parsed by libyaml at C speed; any
other layout is read from the YAML event stream, slower but just as flat.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from .recorded import RecordingError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"


class _NotBlockStyle(Exception):
    """The file is not laid out as the fast path expects: use the event stream."""


def stream_items(path: Path, list_key: str) -> Iterator[tuple[str, Any]]:
    """Items carry their first line as `_line` (for error messages)."""
    yielded = False
    try:
        for value in _block_items(path, list_key):
            yielded = True
            yield value
        return
    except _NotBlockStyle:
        if yielded:
            raise RecordingError(f"{path}: the '{list_key}' list changes layout midway; "
                                 "not a cassette this reader can stream") from None
    with _open(path) as handle:
        loader = _Loader(handle)
        try:
            yield from _event_items(loader, path, list_key)
        except yaml.YAMLError as exc:
            raise RecordingError(f"{path}: not YAML: {exc}") from None
        finally:
            loader.dispose()


def _open(path: Path) -> IO[str]:
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise RecordingError(f"{path}: {exc.strerror}") from None


def _parse(text: str, path: Path, line: int) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = line + mark.line if mark is not None else line
        raise RecordingError(f"{path}:{where}: not YAML: "
                             f"{getattr(exc, 'problem', None) or exc}") from None


def _block_items(path: Path, list_key: str) -> Iterator[tuple[str, Any]]:
    rest: list[str] = []
    chunk: list[str] = []
    chunk_line = 0
    prefix: str | None = None
    in_list = seen = False
    with _open(path) as handle:
        try:
            for number, line in enumerate(handle, 1):
                if in_list:
                    if prefix is None and line.strip() and not line.lstrip().startswith("#"):
                        indent = len(line) - len(line.lstrip(" "))
                        if not line[indent:].startswith("- "):
                            raise _NotBlockStyle
                        prefix = line[: indent + 2]
                    if prefix is not None and line.startswith(prefix):
                        if chunk:
                            yield list_key, _item(chunk, path, chunk_line)
                        chunk, chunk_line = [line], number
                        continue
                    if line[:1] not in (" ", "\n", "#", "") or (
                            prefix == "- " and line.startswith("-")):
                        in_list = False
                    else:
                        chunk.append(line)
                        continue
                    if chunk:
                        yield list_key, _item(chunk, path, chunk_line)
                        chunk = []
                match = _TOP_KEY.match(line.rstrip("\n"))
                if match and match["key"] == list_key:
                    if match["rest"].strip() not in ("", "!!seq"):
                        raise _NotBlockStyle
                    in_list = seen = True
                    continue
                rest.append(line)
        except UnicodeDecodeError as exc:
            raise RecordingError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if chunk:
        yield list_key, _item(chunk, path, chunk_line)
    if not seen:
        if not "".join(rest).strip():
            raise RecordingError(f"{path}: empty file, not a cassette")
        top = _parse("".join(rest), path, 1)
        if not isinstance(top, dict):
            raise RecordingError(f"{path}:1: a cassette is a mapping with '{list_key}'")
        raise RecordingError(f"{path}: no '{list_key}' list: not a VCR cassette")
    top = _parse("".join(rest), path, 1) if "".join(rest).strip() else {}
    if not isinstance(top, dict):
        raise _NotBlockStyle
    yield from ((str(k), v) for k, v in top.items())


def _item(lines: list[str], path: Path, line: int) -> Any:
    parsed = _parse("".join(lines), path, line)
    if not isinstance(parsed, list) or len(parsed) != 1:
        raise _NotBlockStyle
    item = parsed[0]
    if isinstance(item, dict):
        item["_line"] = line
    return item


# --------------------------------------------------------------------------- event stream


def _event_items(loader: Any, path: Path, list_key: str) -> Iterator[tuple[str, Any]]:
    loader.get_event()  # StreamStart
    if loader.check_event(yaml.StreamEndEvent):
        raise RecordingError(f"{path}: empty file, not a cassette")
    loader.get_event()  # DocumentStart
    if not loader.check_event(yaml.MappingStartEvent):
        raise RecordingError(f"{path}:1: a cassette is a mapping with '{list_key}'")
    loader.get_event()
    seen = False
    while not loader.check_event(yaml.MappingEndEvent):
        key = _value(loader)
        if key == list_key and loader.check_event(yaml.SequenceStartEvent):
            seen = True
            loader.get_event()
            while not loader.check_event(yaml.SequenceEndEvent):
                line = loader.peek_event().start_mark.line + 1
                item = _value(loader)
                if isinstance(item, dict):
                    item["_line"] = line
                yield list_key, item
            loader.get_event()
        else:
            yield str(key), _value(loader)
    if not seen:
        raise RecordingError(f"{path}: no '{list_key}' list: not a VCR cassette")


def _value(loader: Any) -> Any:
    event = loader.get_event()
    if isinstance(event, yaml.ScalarEvent):
        tag = event.tag
        if tag is None or tag == "!":
            if event.style:  # quoted or a block: a string as written
                return event.value
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value,  # type: ignore[no-untyped-call]
                                    event.implicit)
            if tag == _STR:
                return event.value
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        return _CONSTRUCTOR.construct_document(node)
    if isinstance(event, yaml.SequenceStartEvent):
        items = []
        while not loader.check_event(yaml.SequenceEndEvent):
            items.append(_value(loader))
        loader.get_event()
        return items
    if isinstance(event, yaml.MappingStartEvent):
        mapping = {}
        while not loader.check_event(yaml.MappingEndEvent):
            key = _value(loader)
            mapping[key if isinstance(key, str | int | float | bool) else str(key)] = \
                _value(loader)
        loader.get_event()
        return mapping
    line = event.start_mark.line + 1 if event.start_mark else "?"
    raise yaml.YAMLError(f"line {line}: unsupported YAML ({type(event).__name__}; "
                         "anchors and aliases are not used in cassettes)")

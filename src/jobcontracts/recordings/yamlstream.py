"""Read one long list out of a YAML mapping an item at a time.

A cassette is `{metadata, interactions: [...], version}`; the list may hold a
hundred thousand interactions. `stream_items` yields `(key, value)` for the
small top-level entries and `(list_key, item)` for each item of the list, so
memory holds one item. Block-style lists (what PyYAML, and so VCR.py, write)
are cut at their `- ` lines, found by a regex over megabyte blocks of text;
each item is parsed by `_fast`, a reader of the block YAML PyYAML writes,
which hands anything else (and anything malformed) to libyaml, whose errors
name the line. Any other layout is read from the YAML event stream, slower
but just as flat.

Why not libyaml alone: its C parser is fast, but PyYAML builds every node and
resolves every scalar in Python; at a hundred nodes an interaction that was
three quarters of a long cassette's verify time (see benchmarks/bench_verify.py).
"""

from __future__ import annotations

import base64
import binascii
import io
import operator
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

from .recorded import RecordingError

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR = "tag:yaml.org,2002:str"
_BLOCK = 1 << 20


class _NotBlockStyle(Exception):
    """The file is not laid out as the fast path expects: use the event stream."""


@dataclass(frozen=True)
class RawItem:
    """A list item's text, cut but not yet parsed (`parse_item` parses it,
    in whichever process has the time)."""

    text: str
    line: int
    list_key: str


def parse_item(raw: RawItem, path: Path) -> Any:
    try:
        return _item(raw.text, path, raw.line)
    except _NotBlockStyle:
        raise RecordingError(f"{path}: the '{raw.list_key}' list changes layout midway; "
                             "not a cassette this reader can stream") from None


def plain_scalar(value: str) -> Any:
    """A plain scalar (no indicator in it) as PyYAML's SafeLoader builds it;
    ValueError where this cannot tell."""
    try:
        return _plain(value)
    except _Unsure:
        raise ValueError(value) from None


def stream_items(path: Path, list_key: str, defer: bool = False) -> Iterator[tuple[str, Any]]:
    """Items carry their first line as `_line` (for error messages). With
    `defer`, block-style items after the first come as `RawItem`s."""
    yielded = False
    try:
        for value in _block_items(path, list_key, defer):
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


def _block_items(path: Path, list_key: str, defer: bool) -> Iterator[tuple[str, Any]]:
    rest: list[str] = []
    seen = False
    with _open(path) as handle:
        try:
            number = 0
            pending: Iterator[str] = iter(())
            while True:
                line = next(pending, None) or handle.readline()
                if not line:
                    break
                number += 1
                match = _TOP_KEY.match(line.rstrip("\n"))
                if not (match and match["key"] == list_key):
                    rest.append(line)
                    continue
                if match["rest"].strip() not in ("", "!!seq"):
                    raise _NotBlockStyle
                seen = True
                tail: list[str] = []
                number = yield from _list_items(handle, number, path, list_key, tail, defer)
                pending = iter(io.StringIO("".join(tail)))
        except UnicodeDecodeError as exc:
            raise RecordingError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if not seen:
        if not "".join(rest).strip():
            raise RecordingError(f"{path}: empty file, not a cassette")
        top = _parse("".join(rest), path, 1)
        if not isinstance(top, dict):
            raise RecordingError(f"{path}:1: a cassette is a mapping with '{list_key}'")
        if list_key in top:
            raise _NotBlockStyle  # a flow mapping: the event stream reads it
        raise RecordingError(f"{path}: no '{list_key}' list: not a VCR cassette")
    top = _parse("".join(rest), path, 1) if "".join(rest).strip() else {}
    if not isinstance(top, dict):
        raise _NotBlockStyle
    yield from ((str(k), v) for k, v in top.items())


def _list_items(handle: IO[str], number: int, path: Path, list_key: str, tail: list[str],
                defer: bool) -> Generator[tuple[str, Any], None, int]:
    """The items of the list whose key is on line `number`, cut from blocks of
    text at each line that starts with the first item's `- ` (or ends the
    list: one at column 0). Puts the text after the list in `tail`; returns
    the number of the list's last line."""
    first = handle.readline()
    while first and (not first.strip() or first.lstrip().startswith("#")):
        number += 1
        first = handle.readline()
    if not first:
        return number
    indent = len(first) - len(first.lstrip(" "))
    if not first[indent:].startswith("- "):
        raise _NotBlockStyle
    prefix = first[: indent + 2]
    boundary = re.compile(r"\n(?=[^ \n#]" + (f"|{re.escape(prefix)})" if indent else ")"))
    buf, start, scan, line, eof = first, 0, 1, number + 1, False
    first_line = line
    while True:
        found = boundary.search(buf, scan)
        if found is None or (not eof and len(buf) - found.end() <= len(prefix)):
            if eof:
                if buf[start:].strip():
                    yield list_key, _item(buf[start:], path, line)
                return line + buf.count("\n", start) - 1
            scan = max(start + 1, found.start() if found else len(buf) - 1) - start
            block = handle.read(_BLOCK)
            buf, start, eof = buf[start:] + block, 0, not block
            continue
        cut = found.end()
        text = buf[start:cut]
        # The first item is parsed here: a layout the fast path does not
        # know falls back to the event stream before anything was yielded.
        yield list_key, (RawItem(text, line, list_key) if defer and line > first_line
                         else _item(text, path, line))
        line += text.count("\n")
        start, scan = cut, cut + 1
        if not buf.startswith(prefix, cut):
            tail.append(buf[cut:])
            return line - 1


def _item(text: str, path: Path, line: int) -> Any:
    try:
        parsed = _fast(text)
    except _Unsure:
        parsed = _parse(text, path, line)
    if not isinstance(parsed, list) or len(parsed) != 1:
        raise _NotBlockStyle
    item = parsed[0]
    if isinstance(item, dict):
        item["_line"] = line
    return item


# --------------------------------------------------------------------------- block items, fast


class _Unsure(Exception):
    """The fast reader met YAML it does not handle (or malformed YAML): libyaml decides."""


#: What the fast reader leaves to libyaml: tabs, CR, other line breaks, BOM, control characters.
_ODD = re.compile("[\t\r\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
#: The same, of ASCII: every control character but the line feed, and DEL.
_ODD_ASCII = bytes([*range(0x0a), *range(0x0b, 0x20), 0x7f])
_MARKER = re.compile(r"^(?:---|\.\.\.)(?:[ \n]|$)", re.MULTILINE)  # a document's start or end
_IMPLICIT: dict[str, list[tuple[str, Any]]] = dict(yaml.resolver.Resolver.yaml_implicit_resolvers)
_SIMPLE_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_SIMPLE_FLOAT = re.compile(r"[-+]?[0-9]+\.[0-9]+")
_DQ_END = re.compile(r'(?:[^"\\]|\\.)*"')
#: First characters a plain scalar or key cannot have, or that the fast
#: reader leaves to libyaml (`-`: a list item, or a plain scalar it skips).
_SPECIAL = frozenset("-?:,[]{}#&*!|>'\"%@`")
_BOOL = {**_CONSTRUCTOR.bool_values}
_MISSING: Any = object()
#: Plain keys and one-line plain values seen, resolved: a cassette repeats them.
_KEYS: dict[str, Any] = {}
_VALUES: dict[str, Any] = {}
_CACHED = 4096
#: Blocks of lists of scalars already read, by their parent's column and text.
_BLOCKS: dict[tuple[int, str], dict[Any, Any]] = {}
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def _fast(text: str) -> Any:
    """One block-style item (`- ...` lines) parsed as `yaml.load(text, CSafeLoader)`
    would parse it, or `_Unsure`: block mappings and sequences, plain, quoted
    and literal (`|`, `!!binary |`) scalars, `[]` and `{}`, which is all PyYAML
    (and so VCR.py) writes. Checked against `yaml.load` on generated values,
    and on those values' text mangled (which must come out the same or unsure)."""
    if _odd(text) or (("\n---" in text or "\n..." in text)
                                         and _MARKER.search(text) is not None):
        raise _Unsure
    lines = text.split("\n")
    while lines and not lines[-1]:
        lines.pop()
    reader = _Reader(lines)
    if not lines or not reader.texts[0] or not _is_dash(reader.texts[0]):
        raise _Unsure
    value, end = reader.node(0, reader.inds[0], reader.texts[0], -1)
    if end != len(lines):
        raise _Unsure
    return value


def _odd(text: str) -> bool:
    """Does the text hold a character of `_ODD`? ASCII text (nearly every item)
    is checked by deleting those bytes, five times quicker than the search."""
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw.translate(None, _ODD_ASCII)) != len(raw)
    return _ODD.search(text) is not None


def _is_dash(text: str) -> bool:
    return text[0] == "-" and (len(text) == 1 or text[1] == " ")


class _Reader:
    """Lines of one item; `texts[i]` is line `i` without its indent `inds[i]`
    (an empty text is a blank line, which only a scalar may hold)."""

    __slots__ = ("count", "inds", "lines", "texts")

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.count = len(lines)
        self.texts = [line.lstrip(" ") for line in lines]
        self.inds = list(map(operator.sub, map(len, lines), map(len, self.texts)))

    def node(self, i: int, col: int, text: str, parent: int) -> tuple[Any, int]:
        """The node whose text starts at column `col` of line `i`; lines that
        continue a scalar are indented past `parent`."""
        if _is_dash(text):
            return self.sequence(i, col, text)
        if _key_end(text) >= 0:
            return self.mapping(i, col, text)
        return self.scalar(i, text, parent)

    def below(self, i: int, col: int, indentless: bool) -> tuple[Any, int]:
        """The value of `key:` (or `-`) at column `col` with nothing after it."""
        if i >= self.count:
            return None, i
        text, ind = self.texts[i], self.inds[i]
        if not text:
            raise _Unsure
        if ind > col:
            if text[-1] == ":" and i + 1 < self.count and self.inds[i + 1] == ind and (
                    self.texts[i + 1][:2] == "- "):
                return self.remembered(i, ind, text, col)
            return self.node(i, ind, text, col)
        if ind == col and indentless and _is_dash(text):
            return self.sequence(i, col, text)
        return None, i

    def remembered(self, i: int, col: int, text: str, parent: int) -> tuple[Any, int]:
        """`node` for a block that opens as a mapping of lists (VCR's headers:
        `name:` over `- value`), read once per distinct text: a cassette repeats
        its header blocks thousands of times. What a block reads depends on its
        lines alone when the line after it is not blank (it is then at `parent`
        or less, which every check of the block's lines treats alike); a copy is
        handed out, so no two items share a list."""
        texts, inds, count = self.texts, self.inds, self.count
        end = i + 1
        while end < count and inds[end] > parent and texts[end]:
            end += 1
        if end < count and not texts[end]:
            return self.node(i, col, text, parent)
        block = (parent, "\n".join(self.lines[i:end]))
        found = _BLOCKS.get(block)
        if found is not None:
            return {k: v[:] if type(v) is list else v for k, v in found.items()}, end
        value, stop = self.node(i, col, text, parent)
        if stop == end and type(value) is dict and all(
                type(v) in _IMMUTABLE or (type(v) is list and all(
                    type(x) in _IMMUTABLE for x in v)) for v in value.values()):
            if len(_BLOCKS) >= _CACHED:
                _BLOCKS.clear()
            _BLOCKS[block] = {k: v[:] if type(v) is list else v for k, v in value.items()}
        return value, stop

    def _next(self, i: int, col: int) -> str | None:
        """Line `i`'s text when it is at column `col`; None when the block ended."""
        if i >= self.count:
            return None
        text, ind = self.texts[i], self.inds[i]
        if not text or ind > col:
            raise _Unsure
        return text if ind == col else None

    def sequence(self, i: int, col: int, text: str) -> tuple[list[Any], int]:
        items = []
        texts, inds, count = self.texts, self.inds, self.count
        while True:
            after = text[1:]
            content = after.lstrip(" ")
            if content and content[0] not in _SPECIAL and content[-1] != ":" and (
                    ": " not in content) and (i + 1 >= count or (
                    inds[i + 1] <= col and texts[i + 1])):
                value = _VALUES.get(content, _MISSING)  # one line, plain: the common case
                if value is _MISSING:
                    value = _cached(_VALUES, content, _plain_line)
                i += 1
            elif content:
                value, i = self.node(i, col + 1 + len(after) - len(content), content, col)
            else:
                value, i = self.below(i + 1, col, False)
            items.append(value)
            following = self._next(i, col)
            if following is None or not _is_dash(following):
                return items, i  # an indentless list ends at its mapping's next key
            text = following

    def mapping(self, i: int, col: int, text: str) -> tuple[dict[Any, Any], int]:
        result: dict[Any, Any] = {}
        texts, inds, count = self.texts, self.inds, self.count
        while True:
            end = text.find(": ")
            if end < 0 and text[-1] == ":":
                end = len(text) - 1
            if end > 0 and text[0] not in _SPECIAL:
                key = _KEYS.get(text[:end], _MISSING)
                if key is _MISSING:
                    key = _cached(_KEYS, text[:end], _key)
            else:
                end = _key_end(text)
                if end <= 0 or _is_dash(text):
                    raise _Unsure
                key = _key(text[:end])
            rest = text[end + 1:].lstrip(" ")
            if not rest:
                # `key:` over one `- value` at its column, plain and one line (a
                # VCR header): what `below` and `sequence` would read, written out.
                j = i + 1
                item = texts[j] if j < count and inds[j] == col else ""
                content = item[2:].lstrip(" ") if item[:2] == "- " else ""
                k = j + 1
                if not content or not (k >= count or (inds[k] < col and texts[k]) or (
                        inds[k] == col and texts[k] and not _is_dash(texts[k]))):
                    value, i = self.below(j, col, True)
                elif content[0] not in _SPECIAL and content[-1] != ":" and (
                        ": " not in content):
                    found = _VALUES.get(content, _MISSING)
                    if found is _MISSING:
                        found = _cached(_VALUES, content, _plain_line)
                    value, i = [found], k
                elif _quoted_alone(content):
                    value, i = [content[1:-1]], k
                else:
                    value, i = self.below(j, col, True)
            elif rest[0] not in _SPECIAL and (i + 1 >= count or (
                    inds[i + 1] <= col and texts[i + 1])):
                value = _VALUES.get(rest, _MISSING)  # one line, plain: the common case
                if value is _MISSING:
                    value = _cached(_VALUES, rest, _plain_line)
                i += 1
            elif _quoted_alone(rest):  # `'429'`: what `single` reads of it
                value = rest[1:-1]
                i += 1
            else:
                value, i = self.scalar(i, rest, col)
            result[key] = value
            if i >= count:
                return result, i
            text, ind = texts[i], inds[i]
            if not text or ind > col:
                raise _Unsure
            if ind < col:
                return result, i

    def continued(self, i: int, parent: int) -> int:
        """The end of the lines after line `i` indented past `parent` (or blank)."""
        j = i + 1
        texts, inds = self.texts, self.inds
        while j < self.count and (not texts[j] or inds[j] > parent):
            j += 1
        return j

    def scalar(self, i: int, text: str, parent: int) -> tuple[Any, int]:
        head = text[0]
        if head == "'":
            return self.single(i, text, parent)
        if head == '"':
            return self.double(i, text, parent)
        if head in "|!":
            return self.literal(i, text, parent)
        if text == "[]" or text == "{}":
            if self.continued(i, parent) != i + 1:
                raise _Unsure
            return ([] if text == "[]" else {}), i + 1
        if head in _SPECIAL and (head != "-" or _is_dash(text)):
            raise _Unsure
        end = self.continued(i, parent)
        pieces = [text]
        for piece in self.texts[i + 1:end]:
            if not piece or piece[0] in _SPECIAL:
                raise _Unsure
            pieces.append(piece)
        return _plain_line(" ".join(p.rstrip(" ") for p in pieces)), end

    def single(self, i: int, text: str, parent: int) -> tuple[str, int]:
        pieces: list[str] = []
        body, j = text[1:], i
        while True:
            at = body.find("'")
            while at >= 0 and body[at + 1:at + 2] == "'":
                at = body.find("'", at + 2)
            if at >= 0:
                if body[at + 1:].strip(" "):
                    raise _Unsure
                pieces.append(body[:at])
                return _fold(pieces).replace("''", "'"), j + 1
            pieces.append(body)
            j += 1
            if j >= self.count:
                raise _Unsure
            body = self.texts[j]
            if body and self.inds[j] <= parent:
                raise _Unsure

    def double(self, i: int, text: str, parent: int) -> tuple[str, int]:
        """Escapes and escaped line breaks: libyaml decodes the scalar alone."""
        match, j, body = _DQ_END.match(text, 1), i, text
        while match is None:
            j += 1
            if j >= self.count:
                raise _Unsure
            body = self.texts[j]
            if body and self.inds[j] <= parent:
                raise _Unsure
            match = _DQ_END.match(body)
        if body[match.end():].strip(" "):
            raise _Unsure
        source = "\n".join([text, *self.lines[i + 1:j], body[:match.end()]] if j > i
                           else [text[:match.end()]])
        try:
            value = yaml.load(source, Loader=_Loader)
        except yaml.YAMLError:
            raise _Unsure from None
        if not isinstance(value, str):
            raise _Unsure
        return value, j + 1

    def literal(self, i: int, text: str, parent: int) -> tuple[Any, int]:
        binary = text.startswith("!!binary ")
        header = text[9:].lstrip(" ") if binary else text
        if header not in ("|", "|-"):
            raise _Unsure
        end = self.continued(i, parent)
        indent = self.inds[i + 1] if end > i + 1 else 0
        if end > i + 1 and (indent <= parent or not self.texts[i + 1] or any(
                t and n < indent for t, n in zip(self.texts[i + 1:end],
                                                 self.inds[i + 1:end], strict=True))):
            raise _Unsure
        content = [x[indent:] for x in self.lines[i + 1:end]]
        while content and not content[-1]:
            content.pop()
        value = "\n".join(content) + ("\n" if content and header == "|" else "")
        if not binary:
            return value, end
        try:
            return base64.decodebytes(value.encode("ascii")), end
        except (ValueError, binascii.Error):
            raise _Unsure from None


def _quoted_alone(text: str) -> bool:
    """A single-quoted scalar that ends on its line with no quote (or `''`) inside."""
    return len(text) > 1 and text[0] == "'" and text[-1] == "'" and text.count("'") == 2


def _fold(pieces: list[str]) -> str:
    """A flow scalar's lines joined as YAML folds them: a line break is a space,
    unless blank lines follow it, each of which is a newline."""
    if len(pieces) == 1:
        return pieces[0]
    out = [pieces[0].rstrip(" ")]
    blanks = 0
    for piece in pieces[1:-1]:
        piece = piece.rstrip(" ")
        if not piece:
            blanks += 1
            continue
        out.append("\n" * blanks if blanks else " ")
        out.append(piece)
        blanks = 0
    out.append("\n" * blanks if blanks else " ")
    out.append(pieces[-1])
    return "".join(out)


def _key_end(text: str) -> int:
    """Where the `:` of a simple key on this line is, or -1: not a `key:` line."""
    head = text[0]
    if head == "'" or head == '"':
        close = text.find(head, 1)
        while head == "'" and close >= 0 and text[close + 1:close + 2] == "'":
            close = text.find("'", close + 2)
        end = close + 1
        if close < 0 or text[end:end + 1] != ":" or text[end + 1:end + 2] not in ("", " "):
            return -1
        return end
    end = text.find(": ")
    if end < 0:
        end = len(text) - 1 if text.endswith(":") else -1
    return end


def _key(text: str) -> Any:
    if not text:
        raise _Unsure
    head = text[0]
    if head == "'":
        return text[1:-1].replace("''", "'")
    if head == '"':
        if "\\" in text:
            raise _Unsure
        return text[1:-1]
    if (head in _SPECIAL and head != "-") or " #" in text or text != text.rstrip(" "):
        raise _Unsure
    return _plain(text)


def _cached(cache: dict[str, Any], text: str, resolve: Callable[[str], Any]) -> Any:
    value = resolve(text)
    if len(text) <= 64:
        if len(cache) >= _CACHED:
            cache.clear()
        cache[text] = value
    return value


def _plain_line(value: str) -> Any:
    """A plain value, once its lines are joined."""
    value = value.rstrip(" ")
    if ": " in value or " #" in value or value.endswith(":") or (
            value[0] in _SPECIAL and (value[0] != "-" or _is_dash(value))):
        raise _Unsure
    return _plain(value)


def _plain(value: str) -> Any:
    """A plain scalar resolved and built as PyYAML's SafeLoader does."""
    for tag, regexp in _IMPLICIT.get(value[:1], ()):
        if regexp.match(value):
            kind = tag.rsplit(":", 1)[1]
            if kind == "null":
                return None
            if kind == "bool":
                return _BOOL[value.lower()]
            if kind == "int" and _SIMPLE_INT.fullmatch(value):
                return int(value)
            if kind == "float" and _SIMPLE_FLOAT.fullmatch(value):
                return float(value)
            if kind not in ("int", "float", "timestamp"):
                raise _Unsure
            return _CONSTRUCTOR.construct_document(yaml.ScalarNode(tag, value))
    return value


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

"""The fast block-YAML reader reads what libyaml reads, or hands over.

`yamlstream._fast` parses a cassette's interactions without PyYAML's Python
constructor; whatever it returns must equal `yaml.load(text, CSafeLoader)`,
and on text libyaml rejects (or it does not know) it must say `_Unsure`, so
that libyaml reads the item and reports the error with its line.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobcontracts.recordings.yamlstream import _fast, _Unsure

ROOT = Path(__file__).resolve().parent.parent
_WORDS = ["", " ", "a", "yes", "No", "null", "~", "0", "0123", "1.5", "-1", "+2", "1e5", "1.0e+5",
          ".inf", "2024-01-01", "12:30", "a: b", "#x", "x #y", "- x", "-x", "'q'", '"d"', "a''b",
          "\\", "\n", "\n\n", " lead", "trail ", "é", "\u2028", "\t", ":", "?", "[]", "{}", "&a",
          "*a", "!t", "|", ">", "<<", "=", "long " * 30, "x" * 130, "\x85", "\r\n", "ON", "---"]
_TEXT = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
                  st.sampled_from(_WORDS),
                  st.lists(st.sampled_from(_WORDS), max_size=6).map("".join))
_SCALAR = st.one_of(_TEXT, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                    st.binary(max_size=80))
_VALUE = st.recursive(_SCALAR, lambda c: st.one_of(
    st.lists(c, max_size=4), st.dictionaries(st.one_of(_TEXT, st.integers()), c, max_size=4)),
    max_leaves=25)


def _same_or_unsure(text: str) -> None:
    try:
        expected = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        expected = _Unsure
    try:
        got = _fast(text)
    except _Unsure:
        return
    assert expected is not _Unsure, f"read what libyaml rejects: {text!r}"
    assert repr(got) == repr(expected), text


def _mangled(text: str, rnd: random.Random, times: int) -> str:
    chars = list(text)
    for _ in range(times):
        at = rnd.randrange(len(chars) or 1)
        op = rnd.randrange(3)
        if op == 0 and chars:
            del chars[at]
        elif op == 1:
            chars.insert(at, rnd.choice([" ", "\n", "'", '"', ":", "-", "#", "|", "  "]))
        elif chars:
            chars[at] = rnd.choice([" ", "\n", "'", ":", "a"])
    return "".join(chars)


@settings(max_examples=400, suppress_health_check=list(HealthCheck), deadline=None)
@given(_VALUE, st.integers(0, 3), st.randoms(use_true_random=False))
def test_what_pyyaml_writes_reads_back_as_libyaml_reads_it(value, mangle, rnd):
    text = yaml.dump([value], Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True,
                     width=120)
    _same_or_unsure(text)
    if mangle:
        _same_or_unsure(_mangled(text, rnd, mangle))


@pytest.mark.parametrize("path", sorted((ROOT / "fixtures").rglob("*.yaml")),
                         ids=lambda p: p.stem[:50])
def test_every_recorded_interaction_is_read_fast_and_the_same(path):
    text = path.read_text()
    if "\ninteractions:\n- " not in text:
        pytest.skip("no block-style interactions")
    body = text.split("\ninteractions:\n", 1)[1].split("\nversion:")[0]
    for chunk in ("- " + c + "\n" for c in ("\n" + body).split("\n- ")[1:]):
        assert _fast(chunk) == yaml.load(chunk, Loader=yaml.CSafeLoader)


#: The shapes the fast reader takes without the general path (a header's one-item
#: list, a quoted one-line scalar), each beside the lines that must end or refuse
#: it: a second item, a deeper or blank line, a key, a comment, a quote inside.
_SHORTCUTS = [
    "- h:\n  - x\n  k: 1\n", "- h:\n  - x\n  - y\n", "- h:\n  - 'x'\n  - y\n",
    "- h:\n  - '429'\n", "- h:\n  - 'it''s'\n", "- h:\n  - ''\n  k: ''\n",
    "- h:\n  - x\n   k: 1\n", "- h:\n  - x\n\n  k: 1\n", "- h:\n  - x:\n  k: 1\n",
    "- h:\n  - 'a': b\n", "- h:\n  -  'x'\n  k: 2\n", "- h:\n  - x\n    y\n",
    "- h:\n  - 'x\n    y'\n", "- h: 'a'\n  k: 'b' \n", "- h: 'a' #c\n", "- h: 'a'b'\n",
    "- a:\n    h:\n    - v\n  b: 1\n", "- a:\n    h:\n    - '1'\n- b\n", "- h:\n  - -x\n",
    "- h:\n  -\n  k: 1\n", "- h:\n  - 'x'\n   - y\n", "- h:\n  - x\n  -\n", "- h: ''\n",
    "- h:\n  - 'x'y\n", "- h:\n  - x #c\n", "- h:\n  - 1\n  - 2\n  k:\n  - 'z'\n",
    "- h:\n    - x\n  k: 1\n", "- h:\n  - x\n- h:\n  - y\n", "- h: '\n'\n",
]


@pytest.mark.parametrize("text", _SHORTCUTS)
def test_the_shortcuts_read_what_libyaml_reads_or_hand_over(text):
    _same_or_unsure(text)


@pytest.mark.parametrize("text", [
    "- h:\n  - x\n  k: 1\n", "- h:\n  - '429'\n", "- h: 'a'\n  k: 'b'\n",
    "- h:\n  - x\n  - 'y'\n  k: 1\n", "- h:\n  - 'x'\n  -  y\n",
    "- a:\n    h:\n    - v\n    g:\n    - ''\n  b: 1\n"])
def test_headers_and_quoted_values_are_read_fast(text):
    assert _fast(text) == yaml.load(text, Loader=yaml.CSafeLoader)


def test_the_quick_check_for_odd_characters_finds_what_the_search_finds():
    from jobcontracts.recordings.yamlstream import _ODD, _odd

    for code in [*range(0x300), 0x2028, 0x2029, 0xfeff, 0xfffe, 0xffff, 0x1f600]:
        for text in (chr(code), f"a: {chr(code)}\n- b", "é" + chr(code)):
            assert _odd(text) == (_ODD.search(text) is not None), (code, text)


_BLOCKS_OF_LISTS = [
    "- r:\n    h:\n    - v\n    k:\n    - '1'\n  s: 1\n",
    "- r:\n    h:\n    - v\n    k:\n    - '1'\n",
    "- r:\n    h:\n    - v\n    k:\n    - '1'\n\n  s: 1\n",
    "- r:\n    h:\n    - v\n    k:\n    - '1'\n   x\n",
    "- r:\n    h:\n    - v\n    k:\n    - '1'\n      x\n",
    "- r:\n    h:\n    - v\n    k:\n    - '1'\n- s\n",
    "- r:\n    h:\n    - v\n    k:\n    - a: 1\n  s: 1\n",
    "- r:\n    h:\n    - v\n    k: !!binary |\n      AA==\n",
    "- r:\n    h:\n    - v\n    - w\n    k: 2012-01-01\n",
    "- r:\n    h:\n    - v\n    k: []\n  s:\n    h:\n    - v\n",
    "- r:\n    h:\n    - v\n    k:\n    - '1'\n  s:\n    h:\n    - v\n    k:\n    - '1'\n",
]


def test_a_block_of_lists_read_again_is_read_the_same_and_never_shared():
    for _ in range(2):  # the second round reads every block from what the first kept
        for text in _BLOCKS_OF_LISTS:
            _same_or_unsure(text)
    text = _BLOCKS_OF_LISTS[0]
    first, again = _fast(text), _fast(text)
    assert first == again == yaml.load(text, Loader=yaml.CSafeLoader)
    assert first[0]["r"]["h"] is not again[0]["r"]["h"]
    first[0]["r"]["h"].append("changed")
    assert _fast(text) == again

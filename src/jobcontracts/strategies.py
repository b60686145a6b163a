"""Hypothesis strategies for the inputs the SpecStep rules are about."""

from __future__ import annotations

import string
import unicodedata
from typing import Any

from hypothesis import strategies as st

from .oracles.lawful import plain_text

KEY_ALPHABET = string.ascii_letters + string.digits + "._:-"
#: One representative of each class of character a key may not hold.
FORBIDDEN_KEY_CHARS = [" ", "/", "@", "+", "=", ",", "~", "!", "\t", '"', "%", "*"]
VALID_PROFILES: list[Any] = ["Fast", "Standard", "Thorough", 0, 1, 2]


def idempotency_keys(*, valid: bool) -> st.SearchStrategy[str]:
    """Keys at the edges (1, 128 / 0, 129 characters) and in between; invalid
    keys carry one character of each forbidden class somewhere."""
    if valid:
        return st.one_of(
            st.text(KEY_ALPHABET, min_size=1, max_size=1),
            st.text(KEY_ALPHABET, min_size=128, max_size=128),
            st.text(KEY_ALPHABET, min_size=1, max_size=128),
        )
    with_forbidden = st.tuples(
        st.text(KEY_ALPHABET, max_size=60), st.sampled_from(FORBIDDEN_KEY_CHARS),
        st.text(KEY_ALPHABET, max_size=60),
    ).map("".join).filter(lambda k: k.strip() == k)  # HTTP trims edge whitespace
    return st.one_of(
        st.just(""),
        st.text(KEY_ALPHABET, min_size=129, max_size=129),
        st.text(KEY_ALPHABET, min_size=129, max_size=300),
        with_forbidden,
    )


def turn_messages() -> st.SearchStrategy[str]:
    """Any Unicode text (no lone surrogates: JSON cannot carry them as text)."""
    return st.text(st.characters(exclude_categories=["Cs"]), max_size=400)


def valid_review_profiles() -> st.SearchStrategy[Any]:
    return st.sampled_from(VALID_PROFILES)


def invalid_review_profiles() -> st.SearchStrategy[Any]:
    """Values the document does not list. Integral floats (1.0) are left out:
    whether `1.0` is the ordinal 1 is not something the documents rule on."""
    near = st.sampled_from(["fast", "FAST", "standard", "Fast ", " Fast", "Thorough.",
                            "Quick", "0", "1", "", "Fast,Standard"])
    return st.one_of(
        near,
        st.text(max_size=20).filter(lambda s: s not in VALID_PROFILES),
        st.integers().filter(lambda n: n not in (0, 1, 2)),
        st.sampled_from([3, -1, None, True, False, 0.5, [], {}]),
    )


def _case_changed(text: str) -> str | None:
    swapped = text.swapcase()
    return swapped if swapped != text else None


def _spacing_changed(text: str) -> str | None:
    return text.replace(" ", "  ", 1) if " " in text else text + " "


def _punctuation_changed(text: str) -> str | None:
    stripped = text.rstrip("?.!")
    return stripped if stripped != text else text + "?"


def _normalisation_changed(text: str) -> str | None:
    """Equal under NFKC, different as code points."""
    for plain, twin in ((" ", "\u00a0"), ("?", "\uff1f"), ("'", "\uff07"), ("(", "\uff08")):
        if plain in text:
            return text.replace(plain, twin, 1)
    decomposed = unicodedata.normalize("NFD", text)
    return decomposed if decomposed != text else None


TEXT_CHANGES = {"case": _case_changed, "spacing": _spacing_changed,
                "punctuation": _punctuation_changed, "normalisation": _normalisation_changed}


def answer_texts(max_size: int = 80) -> st.SearchStrategy[str]:
    """Plain answers (`lawful.plain_text`): a batch whose answers a server may
    lawfully refuse as odd text proves nothing about its questions, so the
    batch rules do not judge it (the generic rules still do)."""
    chars = st.characters(max_codepoint=0xFFFF, categories=("L", "M", "N", "P", "S", "Zs"))
    return st.text(chars, min_size=1, max_size=max_size).filter(plain_text)


INEXACT = ["subset", "superset", "duplicate", *TEXT_CHANGES]


def inexact_batch(questions: list[str], how: str) -> list[dict[str, str]]:
    """One deterministic inexact batch of each kind, for probes that must reach them all."""
    answers = [{"question": q, "answer": "Use your best judgment."} for q in questions]
    if how == "subset":
        return answers[1:]
    if how == "superset":
        return [*answers, {"question": "Which colour should the logo be?", "answer": "Blue"}]
    if how == "duplicate":
        return [*answers, dict(answers[0])]
    changed = TEXT_CHANGES[how](questions[0])
    if changed is None or changed == questions[0]:
        changed = questions[0] + " "
    return [{"question": changed, "answer": answers[0]["answer"]}, *answers[1:]]


@st.composite
def inexact_batches(draw: st.DrawFn, questions: list[str]) -> tuple[str, list[dict[str, str]]]:
    """A batch that is *not* exactly the pending questions, and what is wrong with it."""
    answers = [{"question": q, "answer": draw(answer_texts(40))} for q in questions]
    how = draw(st.sampled_from(INEXACT))
    if how == "subset":
        keep = draw(st.lists(st.sampled_from(range(len(answers))), unique=True,
                             max_size=len(answers) - 1))
        batch = [answers[i] for i in sorted(keep)]
    elif how == "superset":
        extra = draw(answer_texts(60).filter(lambda t: t not in questions))
        batch = [*answers, {"question": extra, "answer": "yes"}]
    elif how == "duplicate":
        batch = [*answers, dict(draw(st.sampled_from(answers)))]
    else:
        i = draw(st.sampled_from(range(len(answers))))
        changed = TEXT_CHANGES[how](answers[i]["question"])
        if changed is None or changed == answers[i]["question"]:
            changed = answers[i]["question"] + " "
        batch = [dict(a) for a in answers]
        batch[i]["question"] = changed
    order = draw(st.permutations(range(len(batch))))
    return how, [batch[i] for i in order]


@st.composite
def exact_batches(draw: st.DrawFn, questions: list[str]) -> list[dict[str, str]]:
    """Every pending question once, verbatim, in any order, with any plain answers."""
    order = draw(st.permutations(questions))
    return [{"question": q, "answer": draw(answer_texts())} for q in order]

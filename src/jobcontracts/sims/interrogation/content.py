"""What the simulated agent says: hypotheses, interview messages, answers.

Text is drawn from fixed pools with a seeded generator, so it reads like an
LLM's output without being one, and is the same for the same seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    title: str
    description: str
    questions: tuple[str, ...]
    answers: tuple[str, ...]
    root_cause: str


THEMES: tuple[Theme, ...] = (
    Theme(
        "Onboarding complexity hurt conversion",
        "A longer, more demanding onboarding flow makes new users give up before they see "
        "value; simplifying it will improve conversion.",
        (
            "Tell me about the last time you signed up for a tool like this.",
            "Which step of the setup felt unnecessary to you?",
            "How long did you expect the setup to take before you could use it?",
            "Did you finish the setup in one sitting, or come back to it later?",
        ),
        (
            "the new signup asked for my company size, my role and a phone number before "
            "showing me anything. I closed the tab at the phone number.",
            "the workspace configuration step. I just wanted to try it with one project.",
            "five minutes at most. It took me closer to twenty with the new wizard.",
            "I came back two days later and had to start over because the draft was gone.",
        ),
        "The redesigned onboarding front-loads configuration before any value is shown.",
    ),
    Theme(
        "Pricing change eroded perceived value",
        "The recent price change made the paid plan feel worse value than the free tier, so "
        "fewer trial users upgrade.",
        (
            "How did you decide whether the paid plan was worth it?",
            "What did you compare the price against?",
            "Which paid feature would make you upgrade today?",
            "How did you hear about the new pricing?",
        ),
        (
            "I compared what I get for free with the monthly price, and the gap felt small.",
            "another tool we already pay for. It does most of the same things.",
            "shared projects. They used to be free and now they are behind the paywall.",
            "from an email the day my trial ended, which felt like a surprise charge.",
        ),
        "Moving shared projects behind the paywall removed the feature that drove upgrades.",
    ),
    Theme(
        "Performance regressions frustrate daily use",
        "Slower load times since the last release make daily tasks tedious, so active users "
        "drift away after the first week.",
        (
            "Describe a moment when the app felt slow to you.",
            "On which device do you usually use it?",
            "What do you do while you wait for it to load?",
            "Has the speed changed compared with a few months ago?",
        ),
        (
            "opening the dashboard in the morning takes long enough that I check my phone.",
            "mostly on an older laptop, sometimes on my phone on the train.",
            "I switch to another tab and often forget to come back.",
            "yes, it used to open instantly. Since the update it spins for several seconds.",
        ),
        "The latest release roughly tripled the dashboard's load time on older hardware.",
    ),
    Theme(
        "Notifications stopped bringing users back",
        "Changes to reminders and notifications removed the cue that made users return, so "
        "usage fades after the first week.",
        (
            "What usually reminds you to open the app?",
            "Which notifications do you find useful, and which do you ignore?",
            "Did you change any notification settings recently?",
            "What would make you come back on a day you forgot about it?",
        ),
        (
            "the weekly summary email. I have not seen one in a while.",
            "I like reminders about deadlines. The promotional ones I swipe away.",
            "I turned them all off because there were too many after the redesign.",
            "a short reminder of what I left unfinished, not another feature announcement.",
        ),
        "The redesign merged useful reminders with promotions, so users muted them all.",
    ),
    Theme(
        "Competitor offers an easier alternative",
        "A competing product with a simpler free plan is drawing users away during the trial "
        "period.",
        (
            "Which other tools did you try for the same job?",
            "What made you try an alternative?",
            "What does the other tool do better?",
            "What would make you switch back?",
        ),
        (
            "a newer app a colleague recommended. It had a free plan with no time limit.",
            "a friend shared a project with me there, so I was already signed up.",
            "it imports everything from my calendar without asking me to configure anything.",
            "an import that brings my projects over in one click.",
        ),
        "A competitor's frictionless import captures users during the trial window.",
    ),
    Theme(
        "Users never reach the core value moment",
        "New users do not discover the feature that delivers the product's main benefit, so "
        "they leave before it pays off.",
        (
            "What did you hope the app would do for you when you signed up?",
            "Which feature do you use the most?",
            "Was there something you found out about later than you would have liked?",
            "What would you tell a friend the app is for?",
        ),
        (
            "save me an hour a week on planning. I am not sure it has, yet.",
            "the list view. I did not know there was an automation tab until recently.",
            "the templates. I built everything by hand for two weeks.",
            "a to-do list, honestly. I did not realise it could do more.",
        ),
        "Templates and automations, the value drivers, are hidden behind secondary menus.",
    ),
    Theme(
        "Trust and privacy concerns block commitment",
        "Unclear data handling and new permission prompts make users hesitant to put real "
        "work into the product.",
        (
            "How comfortable are you storing your data in the app?",
            "Did any permission request make you hesitate?",
            "Who else would need to approve using this tool?",
            "What would reassure you about how your data is handled?",
        ),
        (
            "not very. I keep the sensitive things elsewhere for now.",
            "the request for full contact access right after signing up.",
            "my manager would want to know where the data is stored.",
            "a plain-language page on where the data lives and who can read it.",
        ),
        "A broad contact-access prompt at signup undermines trust before value is shown.",
    ),
)

_FOLLOW_UPS = (
    "Can you give me a concrete example of that?",
    "How often does that happen?",
    "What did you do next?",
    "How much did that matter in your decision?",
)

_FOLLOW_UP_ANSWERS = (
    "last Tuesday is a good example: the same thing happened again.",
    "most weeks, at least once or twice.",
    "I worked around it, but it made me less keen to rely on the app.",
    "a lot. It was the main reason I hesitated.",
)

_FAILURES = (
    "LLM provider error: request timed out after 30 s while interviewing the stakeholder "
    "for {hypothesis}.",
    "Stakeholder agent failed for {hypothesis}: rate limit exceeded by the model provider (429).",
    "Interview graph aborted at {hypothesis}: the model returned an empty response three times.",
)


def pick_themes(rng: random.Random, count: int) -> list[Theme]:
    return rng.sample(THEMES, count)


def question(theme: Theme, turn: int) -> str:
    """The agent's question for the `turn`-th exchange (0-based) of an interview."""
    if turn < len(theme.questions):
        return theme.questions[turn]
    return _FOLLOW_UPS[(turn - len(theme.questions)) % len(_FOLLOW_UPS)]


def answer(theme: Theme, turn: int, voice: str) -> str:
    """The stakeholder's answer in the persona's voice."""
    if turn < len(theme.answers):
        text = theme.answers[turn]
    else:
        text = _FOLLOW_UP_ANSWERS[(turn - len(theme.answers)) % len(_FOLLOW_UP_ANSWERS)]
    return f"{voice} {text}"


def voice_of(profile: str) -> str:
    """An opening for answers given under an ad-hoc profile."""
    first = profile.strip().split(".")[0].strip()
    if first.lower().startswith("i am ") and len(first) <= 80:
        return f"As someone who is {first[5:]},"
    return "Speaking from my own experience,"


def excerpt(text: str, limit: int = 80) -> str:
    """A one-line, bounded quotation of user input."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + "…"


def final_answer(user_input: str, validated: list[Theme], rejected: list[Theme]) -> str:
    problem = excerpt(user_input).rstrip(".") or "the reported problem"
    if validated:
        lead = validated[0]
        parts = [
            f'Interviews point to "{lead.title.lower()}" as the main driver of: {problem}.',
            lead.root_cause,
        ]
        parts.extend(f"Contributing factor: {theme.root_cause}" for theme in validated[1:])
        parts.append("Recommended next step: run a two-week experiment that removes this cause.")
    else:
        parts = [
            f"None of the {len(rejected)} hypotheses was confirmed for: {problem}.",
            "The stakeholder's answers suggest the cause lies outside the tested areas; "
            "recommended next step: interview churned users directly.",
        ]
    return " ".join(parts)


def draft_answer(user_input: str) -> str:
    """The synthesis node's first draft, before it is polished into the final answer."""
    return f"Draft: evidence collected for: {excerpt(user_input, 40) or 'the problem'}."


def failure_message(rng: random.Random, hypothesis_id: str) -> str:
    return rng.choice(_FAILURES).format(hypothesis=hypothesis_id)

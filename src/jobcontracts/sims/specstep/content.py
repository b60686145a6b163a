"""Canned SpecStep content: interviewer lines and clarification questions
(the package zip is `package.py`)."""

from __future__ import annotations

import random

OPENING_QUESTION = (
    "Hi! I'm the SpecStep interviewer. What would you like to build? "
    "Describe the product and who it is for in a sentence or two."
)

AGENT_REPLIES: tuple[str, ...] = (
    "Got it. Who are the primary users, and what is the one thing they must be able to do?",
    "Thanks. Which systems does this need to integrate with (SSO, payments, CRM, ...)?",
    "Understood. Are there hard constraints: budget, deadline, hosting, compliance?",
    "Noted. How will you know v1 is a success? Name one measurable outcome.",
    "Makes sense. What should explicitly be OUT of scope for the first release?",
    "OK. Which platforms matter first: web, iOS, Android, or an API only?",
    "Great. Is there existing data to migrate, and roughly how much?",
)

#: The clarification pool: texts mix case, punctuation and non-ASCII on purpose.
QUESTIONS: tuple[dict[str, str | None], ...] = (
    {
        "agent": "ArchitectAgent",
        "section": "Authentication",
        "question": "Should the portal support SSO (SAML / OIDC)?",
        "why": "Enterprise customers usually require single sign-on.",
        "proposedDefault": "Email + password for v1; OIDC in v2.",
    },
    {
        "agent": "CapacityPlanner",
        "section": "Non-functional requirements",
        "question": "What's the expected peak load \u2014 users per hour?",
        "why": "Sizing the queue workers and the database depends on it.",
        "proposedDefault": None,
    },
    {
        "agent": "DataModeler",
        "section": "Data retention",
        "question": "How long must feedback be kept: 90 days, 1 year, or FOREVER?",
        "why": "Retention drives storage cost and deletion jobs.",
        "proposedDefault": "1 year, then anonymise.",
    },
    {
        "agent": "ComplianceReviewer",
        "section": "Compliance",
        "question": "Will users upload r\u00e9sum\u00e9s or other personal files (GDPR / CCPA)?",
        "why": "Personal data needs a lawful basis and an erasure path.",
        "proposedDefault": None,
    },
    {
        "agent": "UXWriter",
        "section": "Notifications",
        "question": "Notify users by e-mail, in-app, or both?  (Pick one.)",
        "why": "Each channel needs its own templates and opt-outs.",
        "proposedDefault": "In-app only.",
    },
    {
        "agent": "ProductAgent",
        "section": "Scope",
        "question": "Is a mobile app in scope for v1, or web-only?",
        "why": "A native client roughly doubles the delivery plan.",
        "proposedDefault": "Web-only, responsive.",
    },
)


def choose_questions(rng: random.Random,
                     counts: tuple[int, ...] = (2, 3)) -> list[dict[str, str | None]]:
    """Distinct questions (as many as one of `counts`), at least one with a null
    proposedDefault."""
    count = min(rng.choice(counts), len(QUESTIONS))
    chosen = rng.sample(range(len(QUESTIONS)), count)
    if all(QUESTIONS[i]["proposedDefault"] is not None for i in chosen):
        nulls = [i for i, q in enumerate(QUESTIONS) if q["proposedDefault"] is None]
        chosen[-1] = rng.choice(nulls)
    return [dict(QUESTIONS[i]) for i in chosen]

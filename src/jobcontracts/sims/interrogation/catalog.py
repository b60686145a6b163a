"""The stakeholder catalog (the document's `data/stakeholders.json`).

Every profile has the six documented fields; `voice` is the simulator's own
(how the persona opens an answer) and is never sent.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any

#: The fields of a catalog entry, as the document shows them.
PROFILE_FIELDS = (
    "id",
    "title",
    "profile",
    "age_demography",
    "tech_savviness",
    "product_context",
)


@dataclass(frozen=True)
class Stakeholder:
    id: str
    title: str
    profile: str
    age_demography: str
    tech_savviness: str
    product_context: str
    voice: tuple[str, ...]

    def record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PROFILE_FIELDS}


STAKEHOLDERS: tuple[Stakeholder, ...] = (
    Stakeholder(
        id="adult_tech_consumer_30_45",
        title="Adult Tech Consumer (30-45)",
        profile=(
            "I am a working adult between 30 and 45 years old. I juggle a full-time job and "
            "family, and I pay for a handful of subscriptions that save me time. I drop apps "
            "quickly when they waste my evenings or surprise me with charges."
        ),
        age_demography="30-45 years old, urban and suburban, full-time working professionals",
        tech_savviness="Medium to high. Comfortable trying new apps but expects intuitive UX.",
        product_context="Consumer subscription and productivity apps",
        voice=(
            "Honestly, with work and the kids,",
            "From my side, as a paying user,",
            "The way I use it, mostly in the evenings,",
        ),
    ),
    Stakeholder(
        id="small_business_owner_35_55",
        title="Small Business Owner (35-55)",
        profile=(
            "I run a small business with eight employees. I choose our software myself, I "
            "watch every monthly cost, and I have no IT department: if a tool needs a "
            "consultant to set up, we do not use it."
        ),
        age_demography="35-55 years old, owner-operators of businesses with 1-50 employees",
        tech_savviness="Medium. Uses SaaS daily, avoids anything that needs configuration.",
        product_context="B2B SaaS for invoicing, scheduling and customer management",
        voice=(
            "Running the shop myself,",
            "Speaking as the one who signs the checks,",
            "For a team our size,",
        ),
    ),
    Stakeholder(
        id="university_student_18_24",
        title="University Student (18-24)",
        profile=(
            "I am an undergraduate student on a tight budget. I discover apps through friends "
            "and social media, try many free tiers, and rarely pay unless the whole group uses "
            "the same tool."
        ),
        age_demography="18-24 years old, full-time students, mostly living in cities",
        tech_savviness="High. Mobile-first, expects instant onboarding and social sign-in.",
        product_context="Freemium mobile apps for study, collaboration and social planning",
        voice=(
            "Like, for me and my friends,",
            "Being a student on a budget,",
            "Most people in my classes",
        ),
    ),
    Stakeholder(
        id="senior_retiree_65_plus",
        title="Senior Retiree (65+)",
        profile=(
            "I am retired and use a tablet for news, video calls with my grandchildren and "
            "managing appointments. I read instructions carefully and call support when "
            "something is unclear."
        ),
        age_demography="65+ years old, retired, suburban and rural",
        tech_savviness="Low to medium. Prefers large text, few steps and phone support.",
        product_context="Health, communication and banking apps on tablets",
        voice=(
            "Well, at my age,",
            "When my daughter set it up for me,",
            "I have to say,",
        ),
    ),
    Stakeholder(
        id="enterprise_it_admin_30_50",
        title="Enterprise IT Administrator (30-50)",
        profile=(
            "I administer software for a 2,000-person company. I evaluate vendors for SSO, "
            "audit logs and data residency, and I roll tools out in waves after a pilot with "
            "one department."
        ),
        age_demography="30-50 years old, corporate IT and security teams",
        tech_savviness="Very high. Reads API docs, scripts provisioning, audits permissions.",
        product_context="Enterprise collaboration and workflow platforms",
        voice=(
            "From the admin console's point of view,",
            "In our pilot with the finance department,",
            "Security-wise,",
        ),
    ),
)

#: A profile retired from the server's data but still listed by `catalog-id-rejected`.
RETIRED = Stakeholder(
    id="retail_store_manager_40_60",
    title="Retail Store Manager (40-60)",
    profile="I manage a mid-sized retail store and schedule twenty part-time staff.",
    age_demography="40-60 years old, retail and hospitality managers",
    tech_savviness="Medium. Uses the tools head office mandates, little else.",
    product_context="Workforce scheduling and point-of-sale apps",
    voice=("On the shop floor,",),
)

class Catalog:
    """The profiles one server has: `catalog_size` of them, listed in
    `catalog_order`; only these are found by `POST /api/simulations`."""

    def __init__(self, size: int = len(STAKEHOLDERS), order: str = "listed",
                 extra_fields: bool = False) -> None:
        kept = list(STAKEHOLDERS[:max(3, min(size, len(STAKEHOLDERS)))])
        if order == "by_id":
            kept.sort(key=lambda stakeholder: stakeholder.id)
        elif order == "reversed":
            kept.reverse()
        self.stakeholders: tuple[Stakeholder, ...] = tuple(kept)
        self.extra_fields = extra_fields
        self._by_id = {stakeholder.id: stakeholder for stakeholder in kept}

    def find(self, stakeholder_id: str) -> Stakeholder | None:
        """The profile behind an id POST /api/simulations accepts, if any."""
        return self._by_id.get(stakeholder_id)

    def record(self, stakeholder: Stakeholder) -> dict[str, Any]:
        entry = stakeholder.record()
        if self.extra_fields:  # more than the document shows: lawful, and ignored
            entry["voice_sample"] = stakeholder.voice[0]
        return entry

    def catalog(self, faults: Set[str]) -> dict[str, Any]:
        """The body of `GET /api/stakeholders`."""
        entries = [self.record(stakeholder) for stakeholder in self.stakeholders]
        if "catalog-missing-field" in faults:
            del entries[1]["tech_savviness"]
        if "catalog-duplicate-id" in faults:
            duplicate = self.record(self.stakeholders[0])
            duplicate["title"] = f"{duplicate['title']}, mobile only"
            entries.append(duplicate)
        if "catalog-id-rejected" in faults:
            entries.append(self.record(RETIRED))
        return {"stakeholders": entries}


_REFERENCE = Catalog()


def find(stakeholder_id: str) -> Stakeholder | None:
    """The profile behind an id the reference server accepts, if any."""
    return _REFERENCE.find(stakeholder_id)


def catalog(faults: Set[str]) -> dict[str, Any]:
    """The body of the reference server's `GET /api/stakeholders`."""
    return _REFERENCE.catalog(faults)

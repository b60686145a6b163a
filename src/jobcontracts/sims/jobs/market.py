"""Community workflows (the marketplace) and their seeded catalogue.

Search pages are keyset-paginated on the catalogue's fixed order, so a like
or a PATCH between two pages never moves an item onto another page
(JOB-MKT-1); the cursor is the opaque `wfc_<position>` of the next item.
Likes are per API key and toggle (JOB-MKT-2); they do not bump
`item_version`, which only a PATCH does (JOB-MKT-3).
"""

from __future__ import annotations

import random
from collections.abc import Set
from dataclasses import dataclass, field
from typing import Any

from jobcontracts.sims.common import ApiError

_NAMES = (
    ("Invoice digest", "Extract totals and due dates from invoices", ("finance", "pdf")),
    ("Meeting minutes", "Turn a recording into minutes with action items", ("audio", "notes")),
    ("Competitor scan", "Search the web for a competitor's latest launches", ("research",)),
    ("Contract red flags", "List unusual clauses in a contract", ("legal", "pdf")),
    ("Receipt OCR", "Read receipts into a spreadsheet", ("finance", "ocr")),
    ("Weekly KPI report", "Summarise a KPI export into a one-page report", ("reporting",)),
    ("Podcast show notes", "Transcribe an episode and write show notes", ("audio",)),
    ("Paper summariser", "Summarise a research paper for a lay reader", ("research", "pdf")),
    ("Logo sketches", "Draft three logo ideas from a brief", ("design", "image")),
    ("CSV cleaner", "Fix dates, trim blanks and dedupe a CSV", ("data",)),
    ("Lead enrichment", "Add company size and sector to a list of leads", ("sales",)),
    ("Release notes", "Write release notes from a changelog", ("engineering",)),
    ("Support triage", "Tag and route a batch of support tickets", ("support",)),
    ("Translation pass", "Translate a document and keep its layout", ("language", "pdf")),
    ("Slide outline", "Outline a slide deck from a memo", ("writing",)),
    ("Expense audit", "Flag expenses that break the policy", ("finance",)),
    ("Job ad writer", "Draft a job advert from a role description", ("hr", "writing")),
    ("Survey themes", "Group free-text survey answers into themes", ("research", "data")),
    ("SQL explainer", "Explain what a SQL query does, step by step", ("engineering", "data")),
    ("Brand voice check", "Check copy against a brand voice guide", ("writing",)),
    ("Scanned forms", "Read handwritten forms into structured data", ("ocr", "data")),
    ("Newsletter draft", "Draft a newsletter from a list of links", ("writing",)),
    ("Price watcher", "Compare prices for a product across shops", ("research", "sales")),
    ("Chart captions", "Write alt text and captions for charts", ("accessibility", "image")),
    ("Onboarding checklist", "Build an onboarding checklist for a new hire", ("hr",)),
)
CURSOR_PREFIX = "wfc_"


@dataclass
class Workflow:
    position: int
    workflow_id: str
    owner_id: str | None
    spec_id: str
    source_spec_id: str | None
    source_type: str
    name: str
    description: str | None
    tags: list[str]
    run_count: int
    fork_count: int
    like_count: int
    item_version: int
    visibility: str = "public"
    likers: set[str] = field(default_factory=set)

    def stats(self) -> dict[str, int]:
        return {"run_count": self.run_count, "fork_count": self.fork_count,
                "like_count": self.like_count}

    def summary(self) -> dict[str, Any]:
        return {"workflow_id": self.workflow_id, "owner_id": self.owner_id, "name": self.name,
                "description": self.description, "source_type": self.source_type,
                "visibility": self.visibility, "tags": list(self.tags), "stats": self.stats()}

    def full_row(self) -> dict[str, Any]:
        """`summary-full-rows`: a search row that carries what a summary leaves out."""
        return {**self.summary(), "system_prompt": f"You run the {self.name} workflow.",
                "spec_json": {"spec_id": self.spec_id, "steps": []}}

    def detail(self) -> dict[str, Any]:
        return {**self.summary(), "spec_id": self.spec_id,
                "source_spec_id": self.source_spec_id, "item_version": self.item_version}

    def matches(self, query: str) -> bool:
        text = " ".join((self.name, self.description or "", *self.tags)).lower()
        return all(word in text for word in query.lower().split())


class Marketplace:
    def __init__(self, rng: random.Random, mint: Any, faults: Set[str]) -> None:
        self.faults = faults
        self.workflows: dict[str, Workflow] = {}
        for position, (name, description, tags) in enumerate(_NAMES):
            curated = position % 3 == 0
            forked = position % 5 == 4
            workflow = Workflow(
                position=position, workflow_id=mint("wf"),
                owner_id=None if curated else f"usr_{rng.getrandbits(40):010x}",
                spec_id=f"spec_{rng.getrandbits(48):012x}",
                source_spec_id=f"spec_{rng.getrandbits(48):012x}" if forked else None,
                source_type=("template" if "source-type-other" in faults else "curated")
                if curated else "user", name=name,
                description=description, tags=list(tags), run_count=rng.randrange(0, 5000),
                fork_count=rng.randrange(0, 60), like_count=rng.randrange(0, 400),
                item_version=rng.randrange(1, 4))
            self.workflows[workflow.workflow_id] = workflow
        self._order = list(self.workflows.values())

    def find(self, workflow_id: str) -> Workflow | None:
        return self.workflows.get(workflow_id)

    def search(self, query: str, cursor: str | None, limit: int) -> dict[str, Any]:
        """One `WorkflowSearchPage` (the caller checked `limit`)."""
        start = 0
        if cursor is not None:
            digits = cursor.removeprefix(CURSOR_PREFIX)
            if not cursor.startswith(CURSOR_PREFIX) or not digits.isdigit() or len(digits) > 6:
                raise ApiError(400, "invalid_request", f"cursor {cursor[:40]!r} is not valid")
            start = int(digits)
        hits = [w for w in self._order if w.position >= start and w.matches(query)]
        page = hits[:limit]
        more = len(hits) > limit
        next_cursor = f"{CURSOR_PREFIX}{hits[limit].position}" if more else None
        if more and limit > 1 and "page-repeats" in self.faults:
            next_cursor = f"{CURSOR_PREFIX}{page[-1].position}"  # the next page repeats it
        rows = [w.full_row() if "summary-full-rows" in self.faults else w.summary() for w in page]
        return {"items": rows, "cursor": next_cursor}

    def like(self, workflow: Workflow, key: str) -> dict[str, Any]:
        if "like-not-toggled" in self.faults or key not in workflow.likers:
            workflow.likers.add(key)
            workflow.like_count += 1
            liked = True
        else:
            workflow.likers.discard(key)
            workflow.like_count = max(0, workflow.like_count - 1)
            liked = False
        return {"liked": liked, "like_count": workflow.like_count}

    def patch(self, workflow: Workflow, version: int, changes: dict[str, Any]) -> None:
        if version != workflow.item_version and "stale-patch-accepted" not in self.faults:
            raise ApiError(409, "version_conflict",
                           f"item_version {version} is stale; the workflow is at "
                           f"{workflow.item_version}")
        for name, value in changes.items():
            setattr(workflow, name, list(value) if name == "tags" else value)
        workflow.item_version += 1

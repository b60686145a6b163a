"""The plan and cost estimates (`GET /v1/account/plan`, `/v1/account/quota`).

An estimate is `(orchestration + Σ per-invocation cost of each distinct
tool) * max_iterations`, times the variant's `cost_scale`; its floor and
ceiling are fixed percentages of it. Every term is non-negative and the
rounding monotone, so more iterations or more tools never lower any of the
three numbers (JOB-BILL-2), and floor ≤ total ≤ ceiling (JOB-BILL-1).
`quota_check` compares the total with the tier's threshold: `soft_limit`
past 80 %, `quota_exceeded` past 100 %.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from jobcontracts.sims.jobs.choices import JobsChoices

#: The default quota tools of CONTRACT-DEFAULTS and their price per call (micro-units).
TOOL_COSTS = {
    "web_search": 1_500,
    "llm_call": 4_000,
    "pdf_extract": 2_500,
    "ocr": 3_000,
    "summarize": 3_500,
    "code_interpreter": 6_000,
    "transcribe": 5_000,
    "image_gen": 20_000,
}
ORCHESTRATION_MICRO_U = 1_000
THRESHOLDS = {"free": 500_000, "pro": 20_000_000}
SOFT_LIMIT_PERCENT = 80
MICRO_U_PER_USD = 1_000_000
UPGRADE_URL = "https://jobs.sim/pricing"
MAX_ITERATIONS = 10_000


def plan(choices: JobsChoices) -> dict[str, Any]:
    return {"tier": choices.tier, "threshold_micro_u": THRESHOLDS[choices.tier]}


def estimate(tools: list[str], iterations: int, choices: JobsChoices,
             faults: Set[str]) -> dict[str, Any]:
    """A `CostEstimate` (the caller checked the tools and the iterations)."""
    distinct = list(dict.fromkeys(tools))
    scale = choices.cost_scale
    prices = {tool: TOOL_COSTS[tool] * scale for tool in distinct}
    per_iteration = ORCHESTRATION_MICRO_U * scale + sum(prices.values())
    total = per_iteration * iterations
    if "estimate-not-monotone" in faults:  # a "volume discount" that lowers the price
        bundle = 60_000 * scale // len(distinct) if distinct else 60_000 * scale
        total = (ORCHESTRATION_MICRO_U * scale + bundle) * (100 // iterations + 1)
    low, high = choices.spread
    floor, ceiling = total * low // 100, -(-total * high // 100)
    if "estimate-order" in faults:
        ceiling = total - 1
    tier = choices.tier
    threshold = THRESHOLDS[tier]
    if total > threshold:
        state = "quota_exceeded"
    elif total * 100 > threshold * SOFT_LIMIT_PERCENT:
        state = "soft_limit"
    else:
        state = "ok"
    return {
        "estimated_micro_u": total,
        "estimated_usd": round(total / MICRO_U_PER_USD, 6),
        "estimated_total_micro_u": total,
        "estimated_min_micro_u": floor,
        "estimated_max_micro_u": ceiling,
        "tools": [{"tool_name": tool, "per_invocation_micro_u": price}
                  for tool, price in prices.items()],
        "quota_check": {
            "state": state,
            "tier": tier,
            "estimated_micro_u": total,
            "threshold_micro_u": threshold,
            "upgrade_url": None if state == "ok" else UPGRADE_URL,
        },
    }

"""The banner over a bill's figures: why they may be incomplete or no longer what is true.

One notice per warning of the bill (its own message, which names the foundation, the plan
and the period), under a title in words, and one when a closed month's bill differs from
what the month would come to now.
"""

from __future__ import annotations

from dataclasses import dataclass

from reporter import bill_assembly

# Titles of the bill's warning codes.
TITLES = {
    "collection_gap": "Usage events may be missing",
    "before_history": "The month begins before the recorded history",
    "no_plan": "Some usage had no price and was billed at 0",
    "formula_failed": "Some usage could not be priced and was billed at 0",
}
# The title of a warning whose code the dashboard does not know.
OTHER = "Note"


@dataclass(frozen=True)
class Notice:
    code: str
    title: str
    message: str


def notices(body: bill_assembly.BillBody) -> list[Notice]:
    found = [
        Notice(str(w["code"]), TITLES.get(str(w["code"]), OTHER), _sentence(str(w["message"])))
        for w in body["warnings"]
    ]
    closed = body["closed"]
    if closed and closed["differs_now"]:
        found.append(
            Notice(
                "differs_now",
                "This closed month would come to a different amount today",
                f"The month was closed on {closed['closed_at']}: the figures shown are what "
                "was invoiced then. Events or corrections that arrived since would change "
                "it; a later invoice settles the difference.",
            )
        )
    if body["currency"] is None:
        found.append(
            Notice(
                "no_pricing",
                "No prices have been set",
                "No pricing file has been applied yet, so nothing is priced.",
            )
        )
    return found


def _sentence(message: str) -> str:
    """The bill's message as a sentence: a capital first, a full stop last."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else text + "."

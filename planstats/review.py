"""Reviewer decisions, layer by layer as in DHIS2: approve, return (send back), reopen.

Approving a region's current submission for a year locks that region and year against
resubmission until a reviewer reopens it. Every decision is kept in review_event.
"""

from __future__ import annotations

import uuid
from typing import Any

from planstats.clock import now
from planstats.warehouse import Warehouse

ACTIONS = {  # action → (statuses it applies to, status it leaves)
    "approve": (("pending", "returned", "reopened"), "approved"),
    "return": (("pending", "reopened"), "returned"),
    "reopen": (("approved",), "reopened"),
}
LABELS = {"pending": "待审核", "approved": "已审核通过", "returned": "已退回",
          "reopened": "已重新开放"}


class ReviewError(ValueError):
    """A decision that does not apply to the submission as it is."""


def decide(wh: Warehouse, submission_id: str, action: str, reviewer: str,
           comment: str | None = None) -> dict[str, Any]:
    """Apply one reviewer decision; returns the submission as it is afterwards."""
    if action not in ACTIONS:
        raise ReviewError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    if action in ("return", "reopen") and not comment:
        raise ReviewError(f"{action} needs a comment saying why")
    allowed, result = ACTIONS[action]
    with wh.engine.begin() as conn:
        row = conn.execute(wh.sql("report/submission_by_id"),
                           {"submission_id": submission_id}).first()
        if row is None:
            raise ReviewError(f"no submission {submission_id}")
        wh.lock_region_year(conn, row.region_code, row.year)
        if row.status == "rejected" or not row.is_current:
            raise ReviewError(f"submission {submission_id} is not the current accepted version")
        if row.review_status not in allowed:
            raise ReviewError(f"cannot {action} a submission that is {row.review_status}")
        stamp = now()
        wh.run(conn, "load/review_submission", {
            "submission_id": submission_id, "review_status": result, "reviewer": reviewer,
            "reviewed_at": stamp, "review_comment": comment})
        wh.run(conn, "load/review_event", {
            "event_id": uuid.uuid4().hex, "submission_id": submission_id,
            "region_code": row.region_code, "year": row.year, "action": action,
            "reviewer": reviewer, "comment": comment, "at": stamp})
    return submission(wh, submission_id)


def submission(wh: Warehouse, submission_id: str) -> dict[str, Any]:
    rows = wh.rows("report/submission_by_id", submission_id=submission_id)
    if not rows:
        raise ReviewError(f"no submission {submission_id}")
    out = rows[0]
    out["events"] = wh.rows("report/review_events", submission_id=submission_id)
    return out


def submissions(wh: Warehouse, year: int, review_status: str | None = None) -> list[dict[str, Any]]:
    rows = wh.rows("report/submissions_of_year", year=year)
    if review_status:
        rows = [r for r in rows if r["review_status"] == review_status]
    return rows

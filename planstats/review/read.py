"""Submissions as reviewers read them: the year's list, one submission with its history."""

from __future__ import annotations

from typing import Any

from planstats.review import states as st
from planstats.review.scope import ReviewError, Tree
from planstats.warehouse import Warehouse

# the JSON contract of GET /planstats/api/submissions (DESIGN.md, "Reviewer workspace")
API_FIELDS = ("id", "region_code", "year", "status", "review_status", "reviewer", "reviewed_at",
              "file_name", "received_at")


def api_view(row: dict[str, Any]) -> dict[str, Any]:
    """A submission row in the contract's shape."""
    return {"id": row["submission_id"], **{k: row.get(k) for k in API_FIELDS[1:]}}


def submissions(wh: Warehouse, year: int, review_status: str | None = None) -> list[dict[str, Any]]:
    """Every file received for the year (all versions), by region then arrival."""
    rows = wh.rows("report/submissions_of_year", year=year)
    if review_status:
        rows = [r for r in rows if r["review_status"] == review_status]
    return rows


def submission(wh: Warehouse, submission_id: str) -> dict[str, Any]:
    """One submission with its review events, every version of its region and year, its open
    and past follow-up marks, and the higher approval that locks it (if any)."""
    from planstats.review.decisions import locked_by
    from planstats.review.follow_ups import follow_ups

    rows = wh.rows("report/submission_by_id", submission_id=submission_id)
    if not rows:
        raise ReviewError(f"没有编号为 {submission_id} 的报送。")
    out = rows[0]
    out["events"] = wh.rows("report/review_events", submission_id=submission_id)
    out["versions"] = wh.rows("review/versions", region_code=out["region_code"], year=out["year"])
    out["follow_ups"] = [f for f in follow_ups(wh, out["year"], county_code=out["region_code"])
                         if f["submission_id"] == submission_id]
    if out["year"] is None:
        out["locked_by"] = None
        return out
    tree = Tree.of(wh)
    approvals = {r["region_code"]: r for r in wh.rows("review/region_approvals", year=out["year"])}
    out["locked_by"] = locked_by(tree, approvals, out["region_code"])
    out["review_label"] = st.LABELS.get(out["review_status"], out["review_status"])
    return out

"""Follow-up marks (DHIS2's "mark for follow-up"): a reviewer flags a value 待核实 with a comment.

A mark stays open until the county resubmits that year (resolved, at load) or a reviewer
closes it; open marks are listed per year and shown in the county's next receipt.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection

from planstats.clock import now
from planstats.review import states as st
from planstats.review.decisions import check_action, current_submission, record_event
from planstats.review.scope import Reviewer, ReviewError, Tree, require
from planstats.warehouse import Warehouse


def follow_ups(wh: Warehouse, year: int | None = None, state: str | None = None,
               county_code: str | None = None) -> list[dict[str, Any]]:
    """The marks of a year and/or a county, newest first; ``state`` e.g. 'open' filters."""
    rows = wh.rows("review/follow_ups", year=year, county_code=county_code, follow_up_id=None)
    for r in rows:
        r["state_label"] = st.FOLLOW_UP_LABELS[r["state"]]
    return [r for r in rows if state is None or r["state"] == state]


def follow_up(wh: Warehouse, follow_up_id: str, conn: Connection | None = None) -> dict[str, Any]:
    """One mark; ``conn`` reads it inside the caller's transaction."""
    params = {"year": None, "county_code": None, "follow_up_id": follow_up_id}
    if conn is None:
        rows = wh.rows("review/follow_ups", **params)
    else:
        rows = [dict(r) for r in conn.execute(wh.sql("review/follow_ups"), params).mappings()]
    if not rows:
        raise ReviewError(f"没有编号为 {follow_up_id} 的待核实标记。")
    rows[0]["state_label"] = st.FOLLOW_UP_LABELS[rows[0]["state"]]
    return rows[0]


def flag_value(wh: Warehouse, submission_id: str, region_code: str, indicator_code: str,
               reviewer: Reviewer, comment: str) -> dict[str, Any]:
    """Mark one value of a current submission 待核实; the mark."""
    check_action(st.FLAG, (st.FLAG,), comment)
    tree = Tree.of(wh)
    with wh.engine.begin() as conn:
        sub = current_submission(wh, conn, tree, submission_id, reviewer, st.FLAG)
        value = conn.execute(wh.sql("review/fact_of_submission"), {
            "submission_id": submission_id, "region_code": region_code,
            "indicator_code": indicator_code}).first()
        if value is None:
            raise ReviewError(f"报送 {sub.file_name} 中没有 {region_code} 的指标 "
                              f"{indicator_code} 的数值。")
        marks = conn.execute(wh.sql("review/follow_ups"), {
            "year": sub.year, "county_code": sub.region_code, "follow_up_id": None}).mappings()
        if any(m["state"] == st.OPEN and m["region_code"] == region_code
               and m["indicator_code"] == indicator_code for m in marks):
            raise ReviewError(
                f"该数值（{region_code} {indicator_code} {sub.year} 年）已标记待核实。")
        follow_up_id, stamp = uuid.uuid4().hex, now()
        wh.run(conn, "review/add_follow_up", {
            "follow_up_id": follow_up_id, "submission_id": submission_id,
            "county_code": sub.region_code, "region_code": region_code,
            "indicator_code": indicator_code, "year": sub.year, "value": value.value,
            "comment": comment, "state": st.OPEN, "flagged_by": reviewer.name,
            "flagged_at": stamp})
        record_event(wh, conn, subject=st.SUBJECT_FOLLOW_UP, subject_id=follow_up_id,
                     submission_id=submission_id, region_code=sub.region_code, year=sub.year,
                     action=st.FLAG, reviewer=reviewer, comment=comment, at=stamp)
    return follow_up(wh, follow_up_id)


def close_follow_up(wh: Warehouse, follow_up_id: str, reviewer: Reviewer,
                    comment: str | None = None) -> dict[str, Any]:
    """A reviewer closes an open mark (checked with the county, or a mistake); the mark."""
    mark = follow_up(wh, follow_up_id)
    tree = Tree.of(wh)
    with wh.engine.begin() as conn:
        wh.lock_region_year(conn, mark["county_code"], mark["year"])
        require(reviewer, tree, mark["county_code"])
        mark = follow_up(wh, follow_up_id, conn)  # as it is now, under the lock
        if mark["state"] != st.OPEN:
            raise ReviewError(f"该待核实标记{mark['state_label']}，无需关闭。")
        stamp = now()
        wh.run(conn, "review/close_follow_up", {
            "follow_up_id": follow_up_id, "state": st.CLOSED, "closed_by": reviewer.name,
            "closed_at": stamp, "close_comment": comment})
        record_event(wh, conn, subject=st.SUBJECT_FOLLOW_UP, subject_id=follow_up_id,
                     submission_id=mark["submission_id"], region_code=mark["county_code"],
                     year=mark["year"], action=st.CLOSE, reviewer=reviewer, comment=comment,
                     at=stamp)
    return follow_up(wh, follow_up_id)


def receipt_follow_ups(wh: Warehouse, county_code: str | None,
                       submission_id: str | None) -> list[dict[str, Any]]:
    """For a county's receipt: its marks still open (any year) and those this file answered."""
    if not county_code:
        return []
    return [m for m in follow_ups(wh, county_code=county_code)
            if m["state"] == st.OPEN or (submission_id and m["resolved_by"] == submission_id)]

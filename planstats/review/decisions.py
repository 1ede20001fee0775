"""Multi-level approval as in DHIS2: submissions decided by the city, figures by the level above.

A county's current submission is approved (or returned, reopened) at city level. A city's
figures are approved at province level only once every county it expects is approved or marked
not reporting; the province's own figures likewise once every city is. An approval locks every
level below it (no decision there, no resubmission) until it is reopened: reopening goes
top-down. Every decision is a row in review_event.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection

from planstats.clock import beijing, now
from planstats.review import states as st
from planstats.review.scope import Reviewer, ReviewError, Tree, covers, require
from planstats.warehouse import Warehouse


def check_action(action: str, allowed: Any, comment: str | None) -> None:
    if action not in allowed:
        raise ReviewError(f"未知的审核操作 {action!r}，可用：{'、'.join(allowed)}")
    if action in st.NEEDS_COMMENT and not (comment and comment.strip()):
        raise ReviewError(f"“{st.ACTION_LABELS[action]}”需要填写意见（comment），说明原因。")


def _lock(wh: Warehouse, conn: Connection, tree: Tree, code: str, year: int | None) -> None:
    """Lock the deciding level, then the region: top-down, as every decision does."""
    decider = tree.decider(code)
    wh.lock_region_year(conn, decider, year)
    if decider != code:
        wh.lock_region_year(conn, code, year)


def _units(wh: Warehouse, conn: Connection, year: int) -> dict[str, dict[str, Any]]:
    """The year's expected units by code, each with the codes of its expected children."""
    rows = conn.execute(wh.sql("review/units_of_year"), {"year": year}).mappings()
    units = {r["region_code"]: {**r, "child_codes": []} for r in rows}
    for code, unit in units.items():  # in code order, so children come sorted
        if unit["parent_code"] in units:
            units[unit["parent_code"]]["child_codes"].append(code)
    return units


def _approvals(wh: Warehouse, conn: Connection, year: int) -> dict[str, dict[str, Any]]:
    rows = conn.execute(wh.sql("review/region_approvals"), {"year": year}).mappings()
    return {r["region_code"]: dict(r) for r in rows}


def locked_by(tree: Tree, approvals: dict[str, dict[str, Any]], code: str) -> dict[str, Any] | None:
    """The nearest region above ``code`` whose approved figures lock it, if any."""
    for above in tree.ancestors(code)[1:]:
        row = approvals.get(above)
        if row and row["state"] == st.APPROVED:
            return {**row, "region_name": tree.name(above)}
    return None


def _refuse_locked(tree: Tree, approvals: dict[str, dict[str, Any]], code: str,
                   year: int | None) -> None:
    lock = locked_by(tree, approvals, code)
    if lock:
        raise ReviewError(
            f"{tree.name(lock['region_code'])} {year} 年度的数据已于 {beijing(lock['decided_at'])} "
            f"审核通过（{lock['reviewer']}），下级数据已锁定；需先由其上级重新开放（自上而下）。")


def record_event(wh: Warehouse, conn: Connection, *, subject: str, subject_id: str | None,
                 submission_id: str, region_code: str, year: int | None, action: str,
                 reviewer: Reviewer, comment: str | None, at: str) -> None:
    """One row of review_event: every decision and mark is kept, in order."""
    wh.run(conn, "load/review_event", {
        "event_id": uuid.uuid4().hex, "submission_id": submission_id, "region_code": region_code,
        "year": year, "action": action, "reviewer": reviewer.name, "comment": comment, "at": at,
        "subject": subject, "subject_id": subject_id})


def current_submission(wh: Warehouse, conn: Connection, tree: Tree, submission_id: str,
                       reviewer: Reviewer, action: str) -> Any:
    """The submission, locked top-down, if the reviewer may act on it and it is its region's
    current accepted version."""
    row = conn.execute(wh.sql("report/submission_by_id"),
                       {"submission_id": submission_id}).first()
    if row is None:
        raise ReviewError(f"没有编号为 {submission_id} 的报送。")
    _lock(wh, conn, tree, row.region_code, row.year)
    require(reviewer, tree, row.region_code)
    if row.status == "rejected" or not row.is_current:
        raise ReviewError(f"报送 {row.file_name} 不是 {tree.name(row.region_code)} 当前有效的"
                          f"版本，不能{st.ACTION_LABELS[action]}。")
    return row


def decide(wh: Warehouse, submission_id: str, action: str, reviewer: Reviewer,
           comment: str | None = None) -> dict[str, Any]:
    """Approve, return or reopen a region's current submission; the submission afterwards."""
    from planstats.review.read import submission

    check_action(action, st.SUBMISSION_ACTIONS, comment)
    allowed, result = st.SUBMISSION_ACTIONS[action]
    tree = Tree.of(wh)
    with wh.engine.begin() as conn:
        row = current_submission(wh, conn, tree, submission_id, reviewer, action)
        _refuse_locked(tree, _approvals(wh, conn, row.year), row.region_code, row.year)
        if row.review_status not in allowed:
            raise ReviewError(f"该报送{st.LABELS.get(row.review_status, row.review_status)}，"
                              f"不能{st.ACTION_LABELS[action]}。")
        stamp = now()
        wh.run(conn, "load/review_submission", {
            "submission_id": submission_id, "review_status": result, "reviewer": reviewer.name,
            "reviewed_at": stamp, "review_comment": comment})
        record_event(wh, conn, subject=st.SUBJECT_SUBMISSION, subject_id=submission_id,
                     submission_id=submission_id, region_code=row.region_code, year=row.year,
                     action=action, reviewer=reviewer, comment=comment, at=stamp)
    return submission(wh, submission_id)


def _awaiting(unit: dict[str, Any]) -> bool:
    """A county whose current submission still awaits a decision (even if it was excused)."""
    return unit["level"] == "county" and unit["review_status"] in (st.PENDING, st.REOPENED)


def _ready(unit: dict[str, Any]) -> bool:
    """A unit its parent may be approved over: its own data approved, or excused with no
    submission awaiting a decision (a file that arrives after all is reviewed first)."""
    if unit["level"] == "county" and unit["review_status"] == st.APPROVED:
        return True
    if unit["approval_state"] == st.NOT_REPORTING:
        return not _awaiting(unit)
    return unit["level"] != "county" and unit["approval_state"] == st.APPROVED


def _state_label(unit: dict[str, Any]) -> str:
    if _awaiting(unit) or (unit["level"] == "county" and unit["review_status"] == st.APPROVED):
        return st.LABELS[unit["review_status"]]
    if unit["approval_state"] in (st.NOT_REPORTING, st.APPROVED):
        return st.LABELS[unit["approval_state"]]
    if unit["level"] == "county":
        return st.LABELS.get(unit["review_status"], "未报送")
    return "未审核"


def _children(units: dict[str, dict[str, Any]], code: str) -> list[dict[str, Any]]:
    codes = units[code]["child_codes"] if code in units else []
    return [{**units[c], "ready": _ready(units[c]), "state_label": _state_label(units[c])}
            for c in codes]


def decide_region(wh: Warehouse, region_code: str, year: int, action: str, reviewer: Reviewer,
                  comment: str | None = None) -> dict[str, Any]:
    """Approve or reopen a city's or the province's figures, or mark a region not reporting."""
    check_action(action, st.REGION_ACTIONS, comment)
    tree = Tree.of(wh)
    if tree.level(region_code) is None:
        raise ReviewError(f"未知的行政区划代码：{region_code}")
    name = tree.name(region_code)
    with wh.engine.begin() as conn:
        _lock(wh, conn, tree, region_code, year)
        require(reviewer, tree, region_code)
        approvals = _approvals(wh, conn, year)
        _refuse_locked(tree, approvals, region_code, year)
        state = (approvals.get(region_code) or {}).get("state")
        units = _units(wh, conn, year)
        if action == st.APPROVE:
            _can_approve(tree, units, region_code, year, state)
        elif action == st.REOPEN and state not in (st.APPROVED, st.NOT_REPORTING):
            raise ReviewError(f"{name} {year} 年度未审核通过，也未标记为不报送，无需重新开放。")
        elif action == st.NOT_REPORTING:
            if state in (st.APPROVED, st.NOT_REPORTING):
                raise ReviewError(f"{name} {year} 年度已{st.LABELS[state]}。")
            if (units.get(region_code) or {}).get("review_status") == st.APPROVED:
                raise ReviewError(f"{name} {year} 年度的报送已审核通过，不能标记为不报送；"
                                  "请先重新开放该报送。")
        stamp = now()
        new_state = {st.APPROVE: st.APPROVED, st.REOPEN: st.REOPENED}.get(action, action)
        wh.run(conn, "review/set_region_approval", {
            "region_code": region_code, "year": year, "state": new_state,
            "reviewer": reviewer.name, "decided_at": stamp, "comment": comment})
        record_event(wh, conn, subject=st.SUBJECT_REGION, subject_id=region_code, submission_id="",
                     region_code=region_code, year=year, action=action, reviewer=reviewer,
                     comment=comment, at=stamp)
    return region_status(wh, region_code, year)


def _can_approve(tree: Tree, units: dict[str, dict[str, Any]], code: str, year: int,
                 state: str | None) -> None:
    name = tree.name(code)
    if tree.level(code) == "county":
        raise ReviewError(f"{name}的数据以报送文件审核：请审核该县 {year} 年度的当前报送。")
    if state == st.APPROVED:
        raise ReviewError(f"{name} {year} 年度已审核通过。")
    children = _children(units, code)
    if not children:
        raise ReviewError(f"{name} {year} 年度没有需要报送的下级地区，无可审核的数据。")
    waiting = [c for c in children if not c["ready"]]
    if waiting:
        shown = "、".join(f"{c['name']}（{c['state_label']}）" for c in waiting[:10])
        more = f"等 {len(waiting)} 个" if len(waiting) > 10 else f"{len(waiting)} 个"
        raise ReviewError(f"{name} {year} 年度还不能审核通过：{more}下级地区尚未审核通过或"
                          f"标记为不报送：{shown}。")


def region_status(wh: Warehouse, region_code: str, year: int) -> dict[str, Any]:
    """A region's approval for the year: state, who decided, its children, what locks it."""
    tree = Tree.of(wh)
    with wh.engine.connect() as conn:
        units = _units(wh, conn, year)
        approvals = _approvals(wh, conn, year)
        events = [dict(r) for r in conn.execute(wh.sql("review/region_events"), {
            "subject": st.SUBJECT_REGION, "region_code": region_code, "year": year}).mappings()]
    own = approvals.get(region_code) or {}
    children = _children(units, region_code)
    return {
        "region_code": region_code, "region_name": tree.name(region_code),
        "level": tree.level(region_code), "parent_code": tree.parent(region_code), "year": year,
        "state": own.get("state"), "state_label": st.LABELS.get(own.get("state") or "", "未审核"),
        "reviewer": own.get("reviewer"), "decided_at": own.get("decided_at"),
        "comment": own.get("comment"), "children": children,
        "ready": sum(c["ready"] for c in children), "total": len(children),
        "locked_by": locked_by(tree, approvals, region_code), "events": events,
    }


def approvals(wh: Warehouse, year: int) -> list[dict[str, Any]]:
    """Every city and the province expected to report in the year, with approval progress."""
    tree = Tree.of(wh)
    with wh.engine.connect() as conn:
        units = _units(wh, conn, year)
        approved = _approvals(wh, conn, year)
    out = []
    for code, unit in units.items():
        if unit["level"] == "county":
            continue
        children = _children(units, code)
        out.append({
            "region_code": code, "region_name": unit["name"], "level": unit["level"],
            "parent_code": unit["parent_code"], "year": year, "state": unit["approval_state"],
            "state_label": st.LABELS.get(unit["approval_state"] or "", "未审核"),
            "reviewer": unit["approval_reviewer"], "decided_at": unit["approval_decided_at"],
            "comment": unit["approval_comment"], "ready": sum(c["ready"] for c in children),
            "total": len(children), "locked_by": locked_by(tree, approved, code)})
    return out


def excused(wh: Warehouse, year: int) -> set[str]:
    """Counties marked not reporting for the year, themselves or through a region above."""
    tree = Tree.of(wh)
    marked = {r["region_code"] for r in wh.rows("review/region_approvals", year=year)
              if r["state"] == st.NOT_REPORTING}
    return {code for code, row in tree.rows.items() if row["level"] == "county"
            and any(a in marked for a in tree.ancestors(code))}


def queue(wh: Warehouse, year: int, reviewer: Reviewer) -> list[dict[str, Any]]:
    """What awaits a decision in the reviewer's regions: submissions, then regions now approvable.

    Each item has ``kind`` 'submission' or 'region' and ``can_decide`` (False for viewers, who
    see the queue read-only).
    """
    from planstats.review.read import api_view

    tree = Tree.of(wh)
    with wh.engine.connect() as conn:
        units = _units(wh, conn, year)
        approved = _approvals(wh, conn, year)
    items: list[dict[str, Any]] = []
    for row in wh.rows("report/submissions_of_year", year=year):
        code = row["region_code"]
        if (row["is_current"] and row["status"] != "rejected"
                and row["review_status"] in (st.PENDING, st.REOPENED)
                and covers(reviewer, tree, code) and not locked_by(tree, approved, code)):
            items.append({"kind": st.SUBJECT_SUBMISSION, **api_view(row),
                          "region_name": row["region_name"], "errors": row["errors"],
                          "warnings": row["warnings"], "can_decide": reviewer.may_decide})
    for code, unit in units.items():
        if unit["level"] == "county" or unit["approval_state"] in (st.APPROVED,
                                                                   st.NOT_REPORTING):
            continue
        children = _children(units, code)
        if (children and all(c["ready"] for c in children) and covers(reviewer, tree, code)
                and not locked_by(tree, approved, code)):
            items.append({"kind": st.SUBJECT_REGION, "region_code": code,
                          "region_name": unit["name"], "level": unit["level"], "year": year,
                          "ready": len(children), "total": len(children),
                          "can_decide": reviewer.may_decide})
    return items

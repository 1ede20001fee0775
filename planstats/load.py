"""Loading a checked submission: one transaction per file, values kept per submission."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from planstats.clock import beijing, now
from planstats.intake import NUMBER_COLUMNS
from planstats.issues import ERROR, WARNING, Issue
from planstats.regions import RegionTree
from planstats.validate import Checked
from planstats.warehouse import Warehouse

VALUE, NUMERATOR, DENOMINATOR = NUMBER_COLUMNS  # the columns of the three numbers
CURRENT_COLUMNS = ("region_code", "indicator_code", "value", "numerator", "denominator")

FLAG_TO_CHECK = "待核实"
FLAG_EXPLAINED = "已说明"


def compare_with_current(wh: Warehouse | None, checked: Checked,
                         conn: Connection | None = None) -> dict[str, int]:
    """values / new / updated / unchanged / rejected against what the warehouse holds now, on
    ``conn`` when given (``wh`` None: an empty warehouse, every value is new)."""
    sub = checked.submission
    values = [r for r in sub.rows if r.value is not None]
    summary = {"values": len(values), "new": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    if checked.status == "rejected" or sub.region_code is None or sub.year is None:
        summary["rejected"] = len(values)
        return summary
    current = {
        (region, code): numbers for region, code, *numbers in (
            wh.tuples("report/current_values", CURRENT_COLUMNS, conn=conn, stream=False,
                      region_code=sub.region_code, year=sub.year)
            if wh else ())
    }
    for row in values:
        before = current.get((row.region_code or sub.region_code, row.indicator_code))
        if before is None:
            summary["new"] += 1
        elif before == [row.value, row.numerator, row.denominator]:
            summary["unchanged"] += 1
        else:
            summary["updated"] += 1
    return summary


class AlreadyLoaded(Exception):
    """The same file was loaded by another run meanwhile."""

    def __init__(self, submission_id: str) -> None:
        super().__init__(submission_id)
        self.submission_id = submission_id


def approval_lock(wh: Warehouse, conn: Any, region_code: str | None, year: int | None) -> Any:
    """The approved submission that locks this region and year against resubmission, if any."""
    if region_code is None or year is None:
        return None
    return conn.execute(wh.sql("report/approved_submission"),
                        {"region_code": region_code, "year": year}).first()


def load_submission(wh: Warehouse, regions: RegionTree, checked: Checked,
                    destination: Callable[[Checked], Path],
                    connection: Connection | None = None) -> tuple[str, Path]:
    """Compare with the current values (``checked.summary``), record the submission and, if
    accepted, make its values the current ones. Returns its id and where the file is to be kept
    (``destination`` of the final status: an approval made since the file was checked rejects it).

    One transaction, holding the region/year lock: a crash leaves all of it or none, and two
    ingests of the same county and year cannot interleave. On ``connection`` when given (one
    for a chunk's files: a checkout from the pool costs a ping and a reset on PostgreSQL).
    """
    sub = checked.submission
    submission_id = uuid.uuid4().hex
    flagged = {i.row for i in checked.issues if i.severity == WARNING and i.row}
    with _transaction(wh, connection) as conn:
        wh.lock_region_year(conn, sub.region_code or sub.folder, sub.year)
        known = conn.execute(wh.sql("report/submission_by_hash"),
                             {"folder": sub.folder, "file_hash": sub.file_hash}).first()
        if known:
            raise AlreadyLoaded(known.submission_id)
        locked = approval_lock(wh, conn, sub.region_code, sub.year)
        if locked and checked.status != "rejected":
            checked.issues.append(locked_issue(locked))
        checked.summary = compare_with_current(wh, checked, conn)
        target = destination(checked)
        accepted = checked.status != "rejected"
        previous = None
        if accepted:
            current = conn.execute(wh.sql("report/current_submission"),
                                   {"region_code": sub.region_code, "year": sub.year}).first()
            previous = current.submission_id if current else None
        stamp = now()
        wh.run(conn, "load/submission", {
            "submission_id": submission_id, "region_code": sub.region_code or sub.folder,
            "year": sub.year, "file_name": sub.path.name, "file_hash": sub.file_hash,
            "folder": sub.folder, "received_at": sub.received_at,
            "processed_at": stamp,
            "template_version": sub.template_version, "status": checked.status,
            "is_current": int(accepted), "supersedes": previous, "stored_path": str(target),
            "report_path": str(report_path(target)),
            "values_new": checked.summary.get("new", 0),
            "values_updated": checked.summary.get("updated", 0),
            "values_unchanged": checked.summary.get("unchanged", 0),
            "values_rejected": checked.summary.get("rejected", 0),
            "errors": sum(i.severity != WARNING for i in checked.issues),
            "warnings": sum(i.severity == WARNING for i in checked.issues),
        })
        if not accepted:
            return submission_id, target
        units = {r.region_code for r in sub.rows
                 if r.region_code and r.region_code != sub.region_code}
        if units:
            wh.sync_regions(conn, regions, sorted(units))
        if previous:  # none current (read under the region/year lock): nothing to retire
            wh.run(conn, "load/retire_current_submission", {
                "region_code": sub.region_code, "year": sub.year,
                "submission_id": submission_id, "superseded_at": stamp})
        # the new version answers the reviewers' open 待核实 marks of this county and year
        wh.run(conn, "review/resolve_follow_ups", {
            "county_code": sub.region_code, "year": sub.year, "submission_id": submission_id,
            "closed_by": sub.region_code, "closed_at": stamp})
        wh.insert_facts(conn, [
            _fact(submission_id, sub.region_code, sub.year, r, flagged, sub.data_sheet)
            for r in sub.rows if r.indicator_code], FACT_COLUMNS)
    return submission_id, target


@contextmanager
def _transaction(wh: Warehouse, connection: Connection | None) -> Iterator[Connection]:
    """A transaction on ``connection``, or on a connection of its own."""
    if connection is None:
        with wh.engine.begin() as conn:
            yield conn
        return
    with connection.begin():
        yield connection


def report_path(stored: Path) -> Path:
    """The HTML report kept beside a stored file."""
    return stored.with_name(stored.name + ".report.html")


def locked_issue(locked: Any) -> Issue:
    if locked.submission_id:
        what = "该县本年度数据已于"
    else:  # the figures of a region above were approved: they lock every level below
        what = f"上级（{locked.region_code}）本年度数据已于"
    return Issue(ERROR, "approved_locked",
                 f"{what} {beijing(locked.reviewed_at)} 经审核通过并锁定"
                 f"（审核人：{locked.reviewer}），不能再次报送；如需更正，请联系审核人退回（reopen）后重新提交。",
                 "data for this region and year is approved and locked; ask a reviewer to reopen")


FACT_COLUMNS = ("submission_id", "region_code", "indicator_code", "year", "value", "numerator",
                "denominator", "note", "flag", "source_sheet", "value_cell", "numerator_cell",
                "denominator_cell")


def _fact(submission_id: str, region: str | None, year: int | None, row: Any,
          flagged: set[int], sheet: str) -> tuple[Any, ...]:
    """A fact row, in FACT_COLUMNS order."""
    flag = None
    if row.row in flagged:
        flag = FLAG_EXPLAINED if row.note else FLAG_TO_CHECK
    # the cell of each number in the county's file, so a published figure can name its sources
    letter = row.columns.get
    value, numerator, denominator = letter(VALUE), letter(NUMERATOR), letter(DENOMINATOR)
    return (submission_id, row.region_code or region, row.indicator_code, year, row.value,
            row.numerator, row.denominator, row.note or None, flag, sheet,
            value and f"{value}{row.row}", numerator and f"{numerator}{row.row}",
            denominator and f"{denominator}{row.row}")

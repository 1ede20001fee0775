"""One function per DAG task; the CLI calls the same functions.

A county file walks: scan_inbox → check (read, structure, expectations) → load → archive or
quarantine, with its report beside it and a receipt in the county's folder. A file in the
county's 预审 folder walks scan_prechecks → precheck: the same checks, nothing loaded.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import logging
import os
import shutil
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, partial
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from planstats import (
    clock,
    forked,
    gxkit,
    load,
    publish,
    quality,
    review,
    rollup,
    templates,
    validate,
)
from planstats.catalog import Catalog, catalog_from
from planstats.intake import SUFFIXES, Limits, Submission, read_submission
from planstats.intake.ahead import read_in_order
from planstats.progress import Progress
from planstats.regions import RegionTree, regions_from
from planstats.settings import Settings
from planstats.warehouse import Warehouse, reader_for, warehouse_for

RECEIPTS = "回执"
# <inbox>/<region>/预审/: checked like a submission, answered in 回执/, never loaded
PRECHECK = "预审"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    settings: Settings
    catalog: Catalog
    regions: RegionTree

    @property
    def warehouse(self) -> Warehouse:
        wh = warehouse_for(self.settings.warehouse_url, self.settings.sql_dir)
        _synced(wh, self.catalog, self.regions)
        return wh


@cache
def _synced(wh: Warehouse, catalog: Catalog, regions: RegionTree) -> bool:
    wh.sync_dimensions(catalog, regions)
    return True


def context(settings: Settings | None = None) -> Context:
    settings = settings or Settings.from_env()
    return Context(settings, catalog_from(settings.catalog_dir),
                   regions_from(settings.include_dir / "regions"))


def scan_inbox(ctx: Context | None = None, now: float | None = None) -> list[str]:
    """Files in ``<inbox>/<region>/`` that have stopped changing, oldest first.

    Links, paths that resolve outside the inbox and names that cannot be archived are left
    where they are, never followed or read; the county finds why in its receipts folder.
    """
    return _landed(ctx or context(), now)[0]


def scan_prechecks(ctx: Context | None = None, now: float | None = None) -> list[str]:
    """Files in ``<inbox>/<region>/预审/`` that have stopped changing, oldest first."""
    return _landed(ctx or context(), now)[1]


def _landed(ctx: Context, now: float | None) -> tuple[list[str], list[str]]:
    """(submissions, pre-checks) ready to read; one notice per county of what stays unread."""
    inbox = ctx.settings.inbox
    if not inbox.is_dir():
        return [], []
    now = time.time() if now is None else now
    found: tuple[list[tuple[float, str]], list[tuple[float, str]]] = ([], [])
    for folder in sorted(p for p in inbox.iterdir() if p.is_dir() and not p.is_symlink()):
        if folder.name not in ctx.regions:
            _notice_unknown_folder(folder)
            continue
        left: list[tuple[str, str]] = []
        pre = folder / PRECHECK
        for kind, where in enumerate((folder, pre)):
            if where is pre and (pre.is_symlink() or not pre.is_dir()):
                continue
            for stamp, path in _stable_files(where, ctx, now, left):
                found[kind].append((stamp, path))
        _notice_left(folder, left)
    return [p for _, p in sorted(found[0])], [p for _, p in sorted(found[1])]


def _stable_files(folder: Path, ctx: Context, now: float,
                  left: list[tuple[str, str]]) -> Iterator[tuple[float, str]]:
    """(mtime, path) of the files in ``folder`` that may be read; why the others may not."""
    from planstats.intake import landing_problem

    for path in folder.iterdir():
        if (path.is_symlink() or not path.is_file() or path.name.startswith((".", "~$"))
                or path.suffix.lower() not in SUFFIXES):
            continue
        problem = landing_problem(path, ctx.settings.inbox)
        if problem:
            shown = _display_name(path.name)
            left.append((f"{PRECHECK}/{shown}" if folder.name == PRECHECK else shown, problem))
            continue
        stat = path.stat()
        if now - stat.st_mtime >= ctx.settings.stable_seconds:
            yield stat.st_mtime, str(path)


LEFT_NOTICE = "未能读取的文件.txt"


def _display_name(name: str) -> str:
    """A file name as the county saw it: names that are not UTF-8 come from Windows, in GBK."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gbk", errors="replace")


def _notice_left(folder: Path, left: list[tuple[str, str]]) -> None:
    """Tell the county which of its files stay unread and why; rewritten only when that changes."""
    receipts = _receipts(folder, create=bool(left))
    if receipts is None:
        return
    notice = receipts / LEFT_NOTICE
    if not left and not notice.exists():
        return
    lines = [f"{name}：{problem}" for name, problem in sorted(left)]
    text = ("以下文件在本县共享文件夹中，但系统无法读取，未作处理（文件仍在原处，没有删除）：\n\n"
            + "\n".join(lines) + "\n") if lines else "目前没有未能读取的文件。\n"
    if not notice.exists() or notice.read_text(encoding="utf-8") != text:
        notice.write_text(text, encoding="utf-8")


FOLDER_NOTICE = "文件夹名称不是行政区划代码.txt"


def _notice_unknown_folder(folder: Path) -> None:
    """A folder of the inbox that names no region: its files are left alone, and it says why."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES]
    log.warning("inbox folder %r is not a region code: %d file(s) left unread", folder.name,
                len(files))
    notice = folder / FOLDER_NOTICE
    if notice.is_symlink() or (notice.exists() and not notice.is_file()):
        return
    text = (f"本文件夹名称“{_display_name(folder.name)}”不是行政区划代码"
            "（GB/T 2260，例如 511903），系统无法确定这些文件属于哪个县（市、区），"
            "因此没有读取其中的文件（文件仍在原处，没有删除）。\n"
            "请把文件放入本县行政区划代码命名的文件夹，例如 511903/。\n")
    if not notice.exists() or notice.read_text(encoding="utf-8") != text:
        notice.write_text(text, encoding="utf-8")


def _receipts(folder: Path, create: bool = True) -> Path | None:
    """The county's receipts folder; None when it is a link or not a folder (never written)."""
    receipts = folder / RECEIPTS
    if receipts.is_symlink() or (receipts.exists() and not receipts.is_dir()):
        log.warning("receipts folder is not a plain folder, nothing written there: %s", receipts)
        return None
    if create:
        receipts.mkdir(exist_ok=True)
    return receipts if receipts.is_dir() else None


# Values checked in one GX run: bounds memory (rows, frames, GX's COMPLETE results) whatever the
# batch size, while keeping GX's fixed cost per run (≈ 0.06 s, on the GX worker's core) small
# against the work. The GX worker is a fork of this process and keeps every page this process
# rewrites afterwards, so a chunk's working set counts about twice. The bench's community-8266
# (three runs in one process, its helpers' PSS included): 25,000 values 50.8 s and 655 MB,
# 10,000 60.5 s (each chunk costs ≈ 0.13 s: GX's run, the frames, the load) and 579 MB,
# 12,500 55.1 s and 607 MB (before publish_year's child read its own table).
CHUNK_VALUES = 12_500
_END = object()  # no file left to read


def _read(path: Path, ctx: Context, limits: Limits) -> Submission:
    inbox, parent = ctx.settings.inbox, path.parent
    if parent.name == PRECHECK and parent.parent.parent == inbox:
        parent = parent.parent  # a pre-check belongs to the county whose folder holds 预审/
    folder = parent.name if parent.parent == inbox else None
    return read_submission(path, folder, limits)


@dataclass(frozen=True)
class _Snapshot:
    """What every file of a chunk asks the warehouse, read once per chunk instead of per file.

    A change made meanwhile by another run or a reviewer is still caught where it matters: the
    load checks the file's hash and the approval lock again inside its transaction.
    """

    files: dict[tuple[str, str], dict[str, Any]]  # (folder, file hash) → its submission
    approved_years: set[int]  # only files of these years can be locked
    marked_counties: set[str]  # only these counties' receipts list 待核实 marks

    @classmethod
    def read(cls, wh: Warehouse) -> _Snapshot:
        files: dict[tuple[str, str], dict[str, Any]] = {}
        for row in wh.rows("report/loaded_files"):
            files.setdefault((row["folder"], row["file_hash"]), row)
        return cls(files, {r["year"] for r in wh.rows("report/approved_years")},
                   {r["county_code"] for r in wh.rows("review/marked_counties")})


def _prepare(sub: Submission, ctx: Context, wh: Warehouse | None,
             snapshot: _Snapshot | None = None, history: bool = True) -> validate.Checked:
    """Structure, approval lock and (``history``) the county's history from the warehouse as it
    is now.

    ``wh`` None: nothing to read yet (a dry run before the first load): no history.
    """
    item = validate.Checked(sub)
    if not sub.fatal:
        validate.check_structure(item, ctx.catalog, ctx.regions)
    if not sub.fatal and wh is not None:
        if snapshot is None or sub.year in snapshot.approved_years:
            with wh.engine.connect() as conn:
                locked = load.approval_lock(wh, conn, sub.region_code, sub.year)
            if locked:
                sub.issues.append(load.locked_issue(locked))
        if history:
            item.history = _history(wh, sub.region_code, sub.year)
    return item


def _history(wh: Warehouse, region_code: str | None, year: int | None,
             conn: Connection | None = None) -> validate.History:
    return validate.history_from(wh.tuples(
        "report/history_values", validate.HISTORY_COLUMNS, conn=conn, stream=False,
        region_code=region_code, year=year))


def _histories(chunk: list[validate.Checked], wh: Warehouse) -> None:
    """The history of each file of a chunk, on one connection: a connection's checkout cost
    two round trips on PostgreSQL (its ping and its reset), more than a county's history.
    Read when the chunk is checked: none of its files is loaded before."""
    with wh.engine.connect() as conn:
        for item in chunk:
            sub = item.submission
            if not sub.fatal:
                item.history = _history(wh, sub.region_code, sub.year, conn)


def _check_values(checked: list[validate.Checked], ctx: Context, gx_project: Path | None,
                  prune: bool = True,
                  beside: forked.Beside[Any] | None = None) -> list[validate.Checked]:
    with gx_lock(gx_project):
        validate.check_values(checked, ctx.catalog, ctx.settings.expectations_dir, gx_project,
                              prune, beside)
    return checked


def check(paths: list[Path], ctx: Context, gx_project: Path | None) -> list[validate.Checked]:
    """Read and check files; ``gx_project`` None runs Great Expectations without writing results."""
    limits = Limits.from_settings(ctx.settings)
    return _check_values([_prepare(_read(p, ctx, limits), ctx, ctx.warehouse) for p in paths],
                         ctx, gx_project)


@contextmanager
def gx_lock(project: Path | None) -> Iterator[None]:
    """One process at a time writes a GX project (its suites and results are plain files)."""
    if project is None:
        yield
        return
    project.mkdir(parents=True, exist_ok=True)
    with (project / ".planstats.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def validate_file(path: Path, ctx: Context | None = None) -> dict[str, Any]:
    """Dry run: the same checks as ingest, nothing written anywhere.

    The warehouse is only read (never created or migrated) and Great Expectations runs in
    memory, so the data folder is byte for byte as it was.
    """
    ctx = ctx or context()
    wh = reader_for(ctx.settings.warehouse_url, ctx.settings.sql_dir)
    try:
        item = _prepare(_read(path, ctx, Limits.from_settings(ctx.settings)), ctx, wh)
        _check_values([item], ctx, gx_project=None)
        item.summary = load.compare_with_current(wh, item)
    finally:
        if wh is not None:
            wh.engine.dispose()
    return item.to_dict()


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


def _destination(ctx: Context, item: validate.Checked) -> Path:
    sub = item.submission
    root = ctx.settings.quarantine if item.status == "rejected" else ctx.settings.archive
    year = str(sub.year) if sub.year else "unknown-year"
    return root / year / (sub.folder or "unknown-region") / f"{_stamp()}_{sub.path.name}"


def _batch() -> contextlib.AbstractContextManager[None]:
    """A batch's run with what lived before it (modules, catalog, GX) frozen out of the garbage
    collector: a full collection then scans the batch's objects only (it took 0.2 s each)."""
    return forked.frozen()


@_batch()
def ingest(paths: list[str] | None = None, ctx: Context | None = None) -> list[dict[str, Any]]:
    """Process landing-zone files: check, load (one transaction each), archive, report.

    Files are checked together in chunks of about CHUNK_VALUES values and loaded in arrival
    order, a chunk before the next is read: memory stays bounded, and each file is checked
    against the history and compared with the current values the files before it left.
    """
    ctx = ctx or context()
    limits = Limits.from_settings(ctx.settings)
    outcomes: list[dict[str, Any]] = []
    years: set[int] = set()
    chunk: list[validate.Checked] = []
    values = 0
    names = paths if paths is not None else scan_inbox(ctx)
    bar = Progress("ingest", len(names))
    snapshot = _Snapshot.read(ctx.warehouse)
    files = read_in_order([Path(n) for n in names], lambda p: _read(p, ctx, limits),
                          ctx.settings.read_fork_workbooks)
    ahead: deque[Submission | None] = deque()

    def read_ahead() -> None:
        """The next chunk's files read while GX checks this chunk in its worker. Only read:
        they are compared with the warehouse once this chunk is loaded."""
        size = 0
        while size < CHUNK_VALUES and (sub := next(files, _END)) is not _END:
            ahead.append(sub)
            size += len(sub.rows) if sub else 0

    # GX on the second core: forked once, at the first chunk with files left to read after it
    with forked.Worker(ctx.settings.gx_fork) as gx_worker:
        for taken in count(1):
            sub = ahead.popleft() if ahead else next(files, _END)
            if sub is _END:
                break
            if sub is None:  # gone before it could be read: nothing to report to anyone
                bar.advance()
                continue
            bar.advance(values=len(sub.rows))
            if _known(sub, ctx, outcomes, snapshot):
                continue
            chunk.append(_prepare(sub, ctx, ctx.warehouse, snapshot, history=False))
            values += len(sub.rows)
            if values >= CHUNK_VALUES:
                more = taken + len(ahead) < len(names)
                beside = partial(gx_worker.run, meanwhile=read_ahead) if more else None
                years |= _timed_chunk(chunk, ctx, outcomes, bar, snapshot, beside)
                chunk, values = [], 0
                snapshot = _Snapshot.read(ctx.warehouse)
    if chunk:
        years |= _timed_chunk(chunk, ctx, outcomes, bar, snapshot)
    if years:  # the old GX results once per ingest (≈ 10 ms a listing), not per chunk
        with gx_lock(ctx.settings.gx_dir):
            gxkit.prune_results(gxkit.gx_context(ctx.settings.gx_dir))
        ctx.warehouse.refresh_statistics()  # before the roll-ups of what was loaded
    for year in sorted(years):
        write_review_index(year, ctx)
    counts = Counter(o["status"] for o in outcomes)
    bar.close(", ".join(f"{status} {n}" for status, n in sorted(counts.items())))
    return outcomes


def _timed_chunk(chunk: list[validate.Checked], ctx: Context, outcomes: list[dict[str, Any]],
                 bar: Progress, snapshot: _Snapshot,
                 beside: forked.Beside[Any] | None = None) -> set[int]:
    began = time.perf_counter()
    years = _load_chunk(chunk, ctx, outcomes, snapshot, beside)
    bar.note(f"chunk of {len(chunk)} files ({sum(len(c.submission.rows) for c in chunk):,} "
             f"values) checked and loaded in {time.perf_counter() - began:.1f} s")
    return years


def _known(sub: Submission, ctx: Context, outcomes: list[dict[str, Any]],
           snapshot: _Snapshot) -> bool:
    """The same bytes in the same folder again: archive as a duplicate, or finish a recovery."""
    path = sub.path
    known = sub.file_hash and snapshot.files.get((path.parent.name, sub.file_hash))
    if not known:
        return False
    stored = known["stored_path"]
    if stored and not Path(stored).exists():
        # Loaded, then the run died before archiving it: finish that move now.
        _move(path, Path(stored))
        status = "recovered"
    else:  # the same bytes again: nothing to load
        _move(path, ctx.settings.archive / "duplicates" / path.parent.name
              / f"{_stamp()}_{path.name}")
        status = "duplicate"
    outcomes.append({"file": str(path), "status": status,
                     "submission_id": known["submission_id"]})
    return True


def _load_chunk(chunk: list[validate.Checked], ctx: Context, outcomes: list[dict[str, Any]],
                snapshot: _Snapshot, beside: forked.Beside[Any] | None = None) -> set[int]:
    """Check a chunk's values (GX run by ``beside``, if given), then load, report and file
    each submission; the years touched."""
    from planstats import annotate

    wh = ctx.warehouse
    years: set[int] = set()
    _histories(chunk, wh)
    items = _check_values(chunk, ctx, ctx.settings.gx_dir, False, beside)
    # one connection for the chunk's transactions (a checkout costs a ping and a reset on
    # PostgreSQL); the reports are written between them, the connection idle
    with wh.engine.connect() as conn:
        for item in items:
            sub = item.submission
            try:
                submission_id, target = load.load_submission(
                    wh, ctx.regions, item, lambda checked: _destination(ctx, checked), conn)
            except load.AlreadyLoaded as done:  # another run loaded these bytes meanwhile
                outcomes.append({"file": str(sub.path), "status": "duplicate",
                                 "submission_id": done.submission_id})
                continue
            report = load.report_path(target)
            marks = (review.receipt_follow_ups(wh, sub.region_code, submission_id)
                     if sub.region_code in snapshot.marked_counties else [])
            publish.write_submission_report(item, ctx.regions, ctx.catalog, report, clock.now(),
                                            follow_ups=marks)
            _move(sub.path, target)
            # the county's cells marked on a copy of the stored file, beside the report and receipt
            marked = annotate.write_annotated(item, ctx.catalog, target, target.parent, target.name)
            receipts = _receipts(sub.path.parent)
            if receipts:
                _give_back(receipts, sub.path.stem, ".审核报告.html", report, marked, target.name)
            if sub.year:
                years.add(sub.year)
            outcomes.append({**item.to_dict(), "submission_id": submission_id,
                             "stored_path": str(target), "report": str(report),
                             "annotated": str(marked) if marked else None})
    return years


def precheck(paths: list[str] | None = None, ctx: Context | None = None) -> list[dict[str, Any]]:
    """Pre-check the files of ``<inbox>/<region>/预审/``: the checks of ingest, nothing loaded.

    The county gets the report, the marked-up copy and a receipt in ``回执/``; the file is kept
    in the 预审 archive (``<archive>/预审/<region>/``), never loaded and never deleted.
    """
    from planstats import annotate

    ctx = ctx or context()
    outcomes = []
    for name in paths if paths is not None else scan_prechecks(ctx):
        path = Path(name)
        try:
            item = check([path], ctx, gx_project=None)[0]
        except FileNotFoundError:  # gone before it could be read: nothing to report to anyone
            continue
        sub = item.submission
        item.summary = load.compare_with_current(ctx.warehouse, item)
        target = (ctx.settings.archive / PRECHECK / (sub.folder or "unknown-region")
                  / f"{_stamp()}_{path.name}")
        report = load.report_path(target)
        publish.write_submission_report(item, ctx.regions, ctx.catalog, report, clock.now(),
                                        precheck=True)
        _move(path, target)
        marked = annotate.write_annotated(item, ctx.catalog, target, target.parent, target.name,
                                          precheck=True)
        receipt = _precheck_receipts(path, item, report, marked, target.name)
        outcomes.append({**item.to_dict(), "precheck": True, "stored_path": str(target),
                         "report": str(report), "annotated": str(marked) if marked else None,
                         "receipt": str(receipt) if receipt else None})
    return outcomes


def _precheck_receipts(path: Path, item: validate.Checked, report: Path, marked: Path | None,
                       stored: str) -> Path | None:
    """Report, marked-up copy and receipt of a pre-check in the county's 回执 folder."""
    receipts = _receipts(path.parent.parent)
    if receipts is None:
        return None
    stem = f"{path.stem}.{PRECHECK}"
    _give_back(receipts, stem, "报告.html", report, marked, stored)
    receipt = receipts / f"{stem}回执.txt"
    receipt.write_text(publish.precheck_receipt(item, path.name, clock.now()), encoding="utf-8")
    return receipt


def _give_back(receipts: Path, stem: str, report_suffix: str, report: Path, marked: Path | None,
               stored: str) -> None:
    """A file's report and marked-up copy in its county's 回执 folder, named after the file
    (``stem``); the copy keeps the suffix it has beside the stored file (``stored``)."""
    shutil.copyfile(report, receipts / f"{stem}{report_suffix}")
    if marked:
        shutil.copyfile(marked, receipts / (stem + marked.name.removeprefix(stored)))


def _move(source: Path, target: Path) -> None:
    """Move a county file whole or not at all: never a partial copy left behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)  # atomic within one filesystem
        return
    except FileNotFoundError:
        if target.exists():  # another run archived it meanwhile; anything else is a fault
            return
        raise
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    partial = target.with_name(target.name + ".part")
    try:
        shutil.copy2(source, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    source.unlink()


def data_docs(ctx: Context | None = None) -> Path:
    ctx = ctx or context()
    with gx_lock(ctx.settings.gx_dir):
        return gxkit.build_data_docs(ctx.settings.gx_dir)


def write_review_index(year: int, ctx: Context | None = None) -> Path:
    ctx = ctx or context()
    rows = ctx.warehouse.rows("report/submissions_of_year", year=year)
    return publish.write_review_index(year, rows, ctx.settings.reports / str(year) / "index.html",
                                      gxkit.data_docs_index(ctx.settings.gx_dir))


@_batch()
def run_rollup(plan_code: str, year: int, ctx: Context | None = None,
               basis: str = "accepted") -> int:
    """Publish a plan's statistics of a year: the scheduled and asset-triggered roll-up."""
    ctx = ctx or context()
    began = time.perf_counter()
    count = rollup.compute(ctx.warehouse, ctx.catalog.plan(plan_code), year, basis)
    log.info("rollup %s %d (%s): %d rows in %.1f s", plan_code, year, basis, count,
             time.perf_counter() - began)
    return count


@contextmanager
def _view(ctx: Context, plan_code: str, year: int,
          as_of: datetime | None) -> Iterator[Connection | None]:
    """None: read the published statistics; else a connection seeing them as of that time."""
    if as_of is None:
        yield None
        return
    with rollup.as_of(ctx.warehouse, ctx.catalog.plan(plan_code), year, as_of) as conn:
        yield conn


def statistics(plan_code: str, year: int, ctx: Context | None = None, basis: str = "accepted",
               as_of: datetime | None = None) -> list[rollup.StatRow]:
    """The statistics rows: as published, or as the data stood at ``as_of`` (nothing written)."""
    ctx = ctx or context()
    with _view(ctx, plan_code, year, as_of) as conn:
        return rollup.read(ctx.warehouse, ctx.catalog.plan(plan_code), year, ctx.regions, basis,
                           conn)


@_batch()
def publish_statistics(plan_code: str, year: int, out_dir: Path | None = None,
                       ctx: Context | None = None, basis: str = "accepted",
                       as_of: datetime | None = None) -> dict[str, str]:
    """The plan's workbook, CSV and JSON: into ``out_dir`` (default the publish folder)."""
    ctx = ctx or context()
    if as_of is not None and out_dir is None:
        raise ValueError("statistics as of a past time are written only to a folder of your own"
                         " (--out): the published ones stay as they are")
    plan = ctx.catalog.plan(plan_code)
    out = out_dir or ctx.settings.publish / str(year)
    steps = Progress(f"publish {plan_code} {year}", 4, "steps")
    with _view(ctx, plan_code, year, as_of) as conn:
        rows = rollup.read_table(ctx.warehouse, plan, year, ctx.regions, basis, conn)
        steps.advance()
        steps.note(f"{len(rows):,} statistics rows read")
        complete = rollup.completeness(ctx.warehouse, plan, year, conn)
        history = rollup.trend(ctx.warehouse, plan, plan.region_code, basis, conn)
    steps.advance()
    steps.note("completeness and trend read")
    findings = data_quality(year, plan_code, ctx, as_of=as_of)
    steps.advance()
    steps.note(f"{len(findings):,} data-quality findings")
    paths = publish.write_statistics(plan, year, rows, ctx.regions, out, complete, history, basis,
                                     as_of, findings, ctx.settings.publish_fork_rows)
    steps.advance()
    steps.close(f"workbook, CSV and JSON of {len(rows):,} rows in {out}")
    return {kind: str(path) for kind, path in paths.items()}


@_batch()
def publish_year(year: int, ctx: Context | None = None,
                 basis: str = "accepted") -> dict[str, dict[str, str]]:
    """Roll up and publish every plan in period for ``year``: the yearly DAG's mapped tasks in
    one process. The largest plan, once rolled up, is read and written by a forked child while
    this process rolls up and publishes the others (all here, one after the other, on one core).

    The child reads its table itself, on connections of its own: read before the fork, the
    table's pages would be shared, and the child's writing (reference counts) would copy them
    all (≈ 80 MB at 220,000 rows). SQLite's WAL lets it read while this process writes.
    """
    ctx = ctx or context()
    codes = plans_of_year(year, ctx)
    if not codes:
        return {}
    largest, *rest = sorted(codes, key=lambda code: -_size(ctx, code))
    run_rollup(largest, year, ctx, basis)
    parent = os.getpid()
    paths: dict[str, dict[str, str]] = {}

    def the_largest() -> dict[str, str]:
        if os.getpid() != parent:  # the parent's pooled connections are not the child's to use
            ctx.warehouse.engine.dispose(close=False)
        return publish_statistics(largest, year, ctx=ctx, basis=basis)

    def the_others() -> None:
        for code in rest:
            run_rollup(code, year, ctx, basis)
            paths[code] = publish_statistics(code, year, ctx=ctx, basis=basis)

    paths[largest] = forked.beside(the_largest, the_others, fork=bool(rest))
    return {code: paths[code] for code in codes}


def _size(ctx: Context, plan_code: str) -> int:
    """Regions (with units below counties) times indicators: the plan's statistics rows."""
    plan = ctx.catalog.plan(plan_code)
    return len(ctx.regions.descendants(plan.region_code)) * len(plan.indicators)


def data_quality(year: int, plan_code: str | None = None, ctx: Context | None = None,
                 threshold: float | None = None, min_peers: int | None = None,
                 as_of: datetime | None = None) -> list[quality.QualityRow]:
    """Values far from their peers or their past, for reviewers: warnings, nothing written;
    of the data as it stood at ``as_of`` when given (the statistics as of then quote these)."""
    ctx = ctx or context()
    plan = ctx.catalog.plan(plan_code) if plan_code else None
    return quality.analyse(
        ctx.warehouse, ctx.catalog, ctx.regions, year, plan,
        ctx.settings.quality_threshold if threshold is None else threshold,
        ctx.settings.quality_min_peers if min_peers is None else min_peers, as_of)


def publish_dashboard(year: int, ctx: Context | None = None, basis: str = "accepted",
                      out_dir: Path | None = None, as_of: datetime | None = None) -> str:
    """The year's HTML dashboard over every plan in period (after their roll-ups).

    One page per basis (``publish.dashboard_name``), so the official and the approved-only
    dashboards never overwrite each other; ``out_dir`` defaults to the publish folder.
    """
    ctx = ctx or context()
    if as_of is not None and out_dir is None:
        raise ValueError("a dashboard as of a past time is written only to a folder of your own")
    out = out_dir or ctx.settings.publish / str(year)
    page = out / publish.dashboard_name(basis)
    reports = {r["submission_id"]: r["report_path"]
               for r in ctx.warehouse.rows("report/submissions_of_year", year=year)}
    plans = []
    for code in plans_of_year(year, ctx):
        plan = ctx.catalog.plan(code)
        paths = {k: str(v) for k, v in publish.statistics_paths(plan, year, out, basis).items()}
        with _view(ctx, code, year, as_of) as conn:
            # the dashboard shows the plan's own region: its rows only as StatRows
            table = rollup.read_table(ctx.warehouse, plan, year, ctx.regions, basis, conn)
            rows = table.stat_rows(table.rows_of([plan.region_code]).get(plan.region_code, []))
            complete = rollup.completeness(ctx.warehouse, plan, year, conn)
        plans.append(publish.dashboard_plan(plan, year, rows, ctx.regions, complete, reports,
                                            paths, page))
    index = ctx.settings.reports / str(year) / "index.html"
    return str(publish.write_dashboard(year, plans, page, basis, index, as_of))


def plans_of_year(year: int, ctx: Context | None = None) -> list[str]:
    ctx = ctx or context()
    return [p.code for p in ctx.catalog.plans.values() if p.covers_year(year)]


def make_template(region_code: str, year: int, out: Path, ctx: Context | None = None) -> Path:
    """The pre-filled workbook for one county and year, with last year's values where known and
    the county's past years for the workbook's own history check."""
    ctx = ctx or context()
    if region_code not in ctx.regions:
        raise ValueError(f"未知的行政区划代码：{region_code}")
    plans = ctx.catalog.plans_for(ctx.regions.ancestors(region_code), year)
    if not plans:
        raise ValueError(f"{year} 年没有适用于 {region_code} 的规划")
    past = _history(ctx.warehouse, region_code, year)
    history = {code: years for (region, code), years in past.items() if region == region_code}
    return templates.build_template(ctx.catalog, ctx.regions, plans, region_code, year, out,
                                    history)


def review_list(year: int, review_status: str | None = None,
                ctx: Context | None = None) -> list[dict[str, Any]]:
    ctx = ctx or context()
    return review.submissions(ctx.warehouse, year, review_status)


def review_show(submission_id: str, ctx: Context | None = None) -> dict[str, Any]:
    ctx = ctx or context()
    return review.submission(ctx.warehouse, submission_id)


def review_decide(submission_id: str, action: str, reviewer: review.Reviewer,
                  comment: str | None = None, ctx: Context | None = None) -> dict[str, Any]:
    """A reviewer's decision, then the year's reviewer index rewritten to show it."""
    ctx = ctx or context()
    result = review.decide(ctx.warehouse, submission_id, action, reviewer, comment)
    if result["year"]:
        write_review_index(result["year"], ctx)
    return result


def review_decide_region(region_code: str, year: int, action: str, reviewer: review.Reviewer,
                         comment: str | None = None,
                         ctx: Context | None = None) -> dict[str, Any]:
    """Approve or reopen a city's or the province's figures, or mark a region not reporting."""
    ctx = ctx or context()
    return review.decide_region(ctx.warehouse, region_code, year, action, reviewer, comment)


def review_queue(year: int, reviewer: review.Reviewer,
                 ctx: Context | None = None) -> list[dict[str, Any]]:
    ctx = ctx or context()
    return review.queue(ctx.warehouse, year, reviewer)


def review_approvals(year: int, ctx: Context | None = None) -> list[dict[str, Any]]:
    ctx = ctx or context()
    return review.approvals(ctx.warehouse, year)


def review_flag(submission_id: str, region_code: str, indicator_code: str,
                reviewer: review.Reviewer, comment: str,
                ctx: Context | None = None) -> dict[str, Any]:
    ctx = ctx or context()
    return review.flag_value(ctx.warehouse, submission_id, region_code, indicator_code,
                             reviewer, comment)


def review_follow_ups(year: int, state: str | None = None,
                      ctx: Context | None = None) -> list[dict[str, Any]]:
    ctx = ctx or context()
    return review.follow_ups(ctx.warehouse, year, state)


def review_close_follow_up(follow_up_id: str, reviewer: review.Reviewer,
                           comment: str | None = None,
                           ctx: Context | None = None) -> dict[str, Any]:
    ctx = ctx or context()
    return review.close_follow_up(ctx.warehouse, follow_up_id, reviewer, comment)


def cli_reviewer(ctx: Context | None = None) -> review.Reviewer:
    """The operating-system user running the CLI, scoped like a workspace user."""
    ctx = ctx or context()
    return review.cli_reviewer(ctx.settings)


def purge_warehouse(confirm: str, ctx: Context | None = None) -> None:
    ctx = ctx or context()
    ctx.warehouse.purge(confirm, ctx.settings.allow_purge)
    _synced.cache_clear()


def reporting_units(year: int, ctx: Context | None = None) -> dict[str, list[str]]:
    """City → its counties that some plan in period asks to report in ``year``."""
    ctx = ctx or context()
    out: dict[str, list[str]] = {}
    for county in ctx.regions.counties_under("510000"):
        if ctx.catalog.plans_for(ctx.regions.ancestors(county), year):
            out.setdefault(ctx.regions[county].parent or county, []).append(county)
    return out


def publish_templates(year: int, counties: list[str], ctx: Context | None = None) -> list[str]:
    """Each county's pre-filled workbook for ``year`` in the outbox, ``<outbox>/<year>/<code>/``."""
    ctx = ctx or context()
    written = []
    bar = Progress(f"templates {year}", len(counties), "counties")
    for county in counties:
        name = ctx.regions.name(county)
        out = ctx.settings.outbox / str(year) / county / f"{name}_{year}年度规划指标统计表.xlsx"
        written.append(str(make_template(county, year, out, ctx)))
        bar.advance()
        if bar.done % 20 == 0:
            bar.note()
    bar.close()
    return written


def reminders(year: int, ctx: Context | None = None) -> dict[str, Any]:
    """Counties that owe ``year``'s data: for the data team's reminder round."""
    ctx = ctx or context()
    received = {r["region_code"] for r in ctx.warehouse.rows("report/submissions_of_year",
                                                              year=year)
                if r["status"] != "rejected"}
    received |= review.excused(ctx.warehouse, year)  # marked not reporting: not owing
    owing = [c for counties in reporting_units(year, ctx).values() for c in counties
             if c not in received]
    path = ctx.settings.reports / str(year) / "催报名单.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["行政区划代码", "地区", "所属市（州）", "统计年度"])
        for code in owing:
            parent = ctx.regions[code].parent or ""
            writer.writerow([code, ctx.regions.name(code), ctx.regions.name(parent), year])
    return {"year": year, "owing": owing, "file": str(path)}

"""Careless and malicious county files: refused with a clear message (or read correctly), within
bounded time and memory, never a traceback; the good files beside them load in full."""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from planstats import pipeline
from planstats.intake import DELIMITERS, Limits, Submission, read_submission
from planstats.values import ValueParseError, parse_number
from tests.corpus import ACCEPTED, CASES, CSV_HEADER, distinct, measure, write_corpus
from tests.office import convert, office_profile  # noqa: F401  (fixture)

ENYANG = "511903"
SECONDS = 10  # generous for a loaded CI machine; the corpus reads in well under a second each
LIMITS = Limits(file_bytes=20 << 20, xlsx_bytes=50 << 20, zip_members=1000, rows=100_000,
                cells=2_000_000)
ENV = ("DATA_DIR", "WAREHOUSE_URL", "INBOX", "ARCHIVE", "QUARANTINE", "REPORTS", "PUBLISH",
       "GX_DIR", "INCLUDE_DIR", "OUTBOX", "MAX_FILE_MB", "MAX_XLSX_MB", "MAX_ZIP_MEMBERS",
       "MAX_ROWS", "MAX_CELLS")


def chinese(message: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in message)


@dataclass(frozen=True)
class Corpus:
    folder: Path
    good: Path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, office_profile: Path) -> Corpus:  # noqa: F811
    """One good 恩阳区 2023 workbook, the .xls and .ods LibreOffice saves from it, and every
    malformed file made from them, once per module."""
    from planstats.samples import fill_workbook
    from tests.conftest import good_values

    base = tmp_path_factory.mktemp("corpus")
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV:
            mp.delenv(f"PLANSTATS_{name}", raising=False)
        mp.setenv("PLANSTATS_DATA_DIR", str(base / "data"))
        ctx = pipeline.context()
        good = base / "good.xlsx"
        pipeline.make_template(ENYANG, 2023, good, ctx)
        fill_workbook(good, good_values(ctx, ENYANG, 2023), reporter="测试")
        folder = base / "files"
        saved = convert([good], base / "saved", office_profile, "xls")
        saved += convert([good], base / "saved", office_profile, "ods")
        write_corpus(folder, good, ctx.settings.max_file_mb,
                     {path.suffix.lstrip("."): path for path in saved})
    assert distinct(folder, list(CASES)), "batch files must differ, or ingest sees duplicates"
    return Corpus(folder, good)


def values_of(sub: Submission) -> set[tuple]:
    return {(r.indicator_code, r.value, r.numerator, r.denominator) for r in sub.rows}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_file_is_refused_clearly_or_read_in_bounded_time(corpus, case):
    started = time.perf_counter()
    sub = read_submission(corpus.folder / case.name, ENYANG, LIMITS)
    assert time.perf_counter() - started < SECONDS
    errors = [i for i in sub.issues if i.severity == "error"]
    if case.expect == ACCEPTED:
        assert not errors, errors
        assert values_of(sub) == values_of(read_submission(corpus.good, ENYANG, LIMITS))
        return
    assert case.expect in {i.rule for i in errors}, [(i.rule, i.message_en) for i in errors]
    for issue in errors:
        assert chinese(issue.message), issue
        assert issue.message_en and "unexpected" not in issue.message_en, issue
        assert len(issue.message) < 400 and len(str(issue.value or "")) < 200, "no cell dumps"


@pytest.mark.parametrize(("name", "rule", "where"), [
    ("formulas.xlsx", "formula", [("指标数据", 4, "E"), ("指标数据", 5, "E"),
                                  ("指标数据", 6, "F")]),
    ("merged.xlsx", "merged_cells", [("指标数据", 7, "E")]),
    ("long-cell.xlsx", "cell_too_long", [("指标数据", 4, "H")]),
    ("long-cell.csv", "cell_too_long", [("long-cell.csv", 2, None)]),
    ("hidden-data.xlsx", "hidden_sheet", [("指标数据", None, None)]),
    ("far-cell.xlsx", "too_many_rows", [("指标数据", None, None)]),
    ("wide.xlsx", "sheet_too_large", [("指标数据", None, None)]),
    ("million-rows.csv", "too_many_rows", [("million-rows.csv", None, None)]),
])
def test_refusals_name_the_sheet_row_and_column(corpus, name, rule, where):
    sub = read_submission(corpus.folder / name, ENYANG, LIMITS)
    found = [(i.sheet, i.row, i.column) for i in sub.issues if i.rule == rule]
    assert found == where, [(i.rule, i.sheet, i.row, i.column) for i in sub.issues]


def test_formula_messages_quote_the_formula_and_ask_for_typed_values(corpus):
    sub = read_submission(corpus.folder / "formulas.xlsx", ENYANG, LIMITS)
    messages = [i.message for i in sub.issues if i.rule == "formula"]
    assert any("=1+1" in m for m in messages) and any("HYPERLINK" in m for m in messages)
    assert all("请直接填写数值" in m for m in messages)
    assert {i.indicator_code for i in sub.issues if i.rule == "formula"} == {None}


def test_the_scan_finds_every_formula_cell_the_parser_finds(corpus):
    """The raw scan places formula cells as parsing does, so a workbook whose only formulas are
    the template's own 自查 column is never parsed (the good file has them)."""
    import zipfile
    import zlib
    from xml.etree import ElementTree

    from planstats.intake.zipcheck import SheetScan, UnsafeXml, scan_stream, sheet_cells

    checked = 0
    for path in [corpus.good, corpus.folder / "formulas.xlsx", *corpus.folder.glob("*.xlsx")]:
        try:
            zf = zipfile.ZipFile(path)
            parts = [i for i in zf.infolist() if i.filename.startswith("xl/worksheets/")
                     and i.filename.endswith(".xml") and i.file_size < 5 << 20]
        except (zipfile.BadZipFile, OSError):
            continue
        for info in parts:
            scan = SheetScan()
            try:
                with zf.open(info) as fh:
                    scan_stream(fh, scan, xml=True)
                scan.finish(zf, info)
                parsed = [(r, c) for r, c, f in sheet_cells(zf, info) if f is not None]
            except (UnsafeXml, ElementTree.ParseError, zipfile.BadZipFile, zlib.error,
                    RuntimeError, EOFError):
                continue  # the corpus's broken parts: refused before this question arises
            assert sorted(scan.formula_cells) == sorted(parsed), (path.name, info.filename)
            checked += bool(parsed)
    assert checked >= 2


def test_template_formulas_alone_are_not_parsed_again(corpus, monkeypatch):
    """The 自查 formulas of a good file are found by the scan; the slow parse is for typed ones."""
    from planstats.intake import xlsx

    parsed = []

    def parse(*args):
        parsed.append(args)
        return iter(())

    monkeypatch.setattr(xlsx, "sheet_cells", parse)
    sub = read_submission(corpus.good, ENYANG, LIMITS)
    assert sub.cells_read and not sub.fatal and not parsed
    read_submission(corpus.folder / "formulas.xlsx", ENYANG, LIMITS)
    assert len(parsed) == 1


@pytest.mark.parametrize("name", ["far-cell.xlsx", "prefixed-far-cell.xlsx",
                                  "unreferenced-wide.xlsx", "wide.xlsx", "bomb-size.xlsx",
                                  "bomb-lying.xlsx", "many-rows.xlsx", "million-rows.csv",
                                  "long-cell.xlsx", "entities.xlsx", "big.csv",
                                  "far-dimensions.xls", "far-cell.xls", "sst-bomb.xls",
                                  "loop.xls", "far-cell.ods", "wide.ods", "bomb-size.ods"])
def test_dangerous_files_stay_within_bounded_memory(corpus, name):
    """In a fresh process under a 1 GB address-space limit: the unchecked reader would try to
    allocate hundreds of GB for far-cell.xlsx and abort the whole worker."""
    got = measure(corpus.folder / name, ENYANG, memory_mb=1024)
    assert "crashed" not in got, got
    expect = next(c.expect for c in CASES if c.name == name)
    assert expect in {i["rule"] for i in got["issues"]}
    assert got["peak_mb"] < 400 and got["seconds"] < SECONDS


def test_one_ingest_loads_the_good_file_in_full_beside_the_whole_corpus(ctx, corpus):
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True)
    shutil.copy(corpus.good, folder / "恩阳区2023.xlsx")
    batch = [c for c in CASES if c.in_batch]
    for case in batch:
        shutil.copy(corpus.folder / case.name, folder / case.name)
    outside = ctx.settings.data_dir / "secret.csv"
    outside.write_text("指标代码,本年值\nZB0001,1\n", encoding="utf-8")
    os.symlink(outside, folder / "link-outside.csv")
    os.symlink(folder / "恩阳区2023.xlsx", folder / "link-inside.xlsx")

    started = time.perf_counter()
    outcomes = {Path(o["file"]).name: o for o in pipeline.ingest(ctx=ctx)}
    elapsed = time.perf_counter() - started

    assert set(outcomes) == {"恩阳区2023.xlsx", *(c.name for c in batch)}, "links are not read"
    good = outcomes["恩阳区2023.xlsx"]
    assert good["status"] == "accepted", good["issues"]
    with ctx.warehouse.engine.connect() as conn:
        loaded = conn.execute(text("select count(*) from fact_value where submission_id = :id"),
                              {"id": good["submission_id"]}).scalar_one()
    from tests.conftest import good_values

    assert loaded == len(good_values(ctx, ENYANG, 2023)), "the good workbook loads in full"
    for case in batch:
        outcome = outcomes[case.name]
        if case.expect == ACCEPTED:
            assert outcome["status"] in ("accepted", "accepted_with_warnings"), outcome["issues"]
            continue
        assert outcome["status"] == "rejected", case.name
        assert case.expect in {i["rule"] for i in outcome["issues"]}, (case.name, outcome)
        assert Path(outcome["report"]).exists()
    left = sorted(p.name for p in folder.iterdir() if p.name != pipeline.RECEIPTS)
    assert left == ["link-inside.xlsx", "link-outside.csv"], "every real file was processed"
    assert outside.read_text(encoding="utf-8").startswith("指标代码"), "nothing deleted"
    assert elapsed < 300, f"one ingest over the corpus took {elapsed:.0f} s"


REFUSED_UNREAD = ("many-rows.xlsx", "far-cell.xlsx", "prefixed-far-cell.xlsx",
                  "unreferenced-wide.xlsx", "wide.xlsx", "bomb-size.xlsx", "bomb-members.xlsx",
                  "bomb-lying.xlsx", "entities.xlsx", "macro-renamed.xlsx", "loop.xls",
                  "far-dimensions.xls", "far-cell.xls", "sst-bomb.xls", "encrypted.xls",
                  "far-cell.ods", "wide.ods", "entities.ods", "bomb-size.ods", "macro.ods")


def test_intake_says_which_refused_files_it_never_parsed(corpus):
    for name in REFUSED_UNREAD:
        assert not read_submission(corpus.folder / name, ENYANG, LIMITS).cells_read, name
    assert read_submission(corpus.folder / "formulas.xlsx", ENYANG, LIMITS).cells_read


def test_files_refused_before_parsing_are_not_opened_again(ctx, corpus, monkeypatch):
    """openpyxl has none of intake's limits: the marked-up copy must not open these files."""
    import openpyxl

    opened: list[str] = []
    real = openpyxl.load_workbook

    def spy(filename: Path, *args: object, **kwargs: object) -> object:
        opened.append(Path(filename).name)
        return real(filename, *args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True)
    for name in REFUSED_UNREAD:
        shutil.copy(corpus.folder / name, folder / name)
    assert {o["status"] for o in pipeline.ingest(ctx=ctx)} == {"rejected"}
    assert not [n for n in opened if n.endswith(REFUSED_UNREAD)], opened


def test_scan_inbox_never_follows_links_or_leaves_the_inbox(ctx, corpus, tmp_path):
    inbox = ctx.settings.inbox
    folder = inbox / ENYANG
    folder.mkdir(parents=True)
    good = folder / "good.xlsx"
    shutil.copy(corpus.good, good)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(corpus.good, elsewhere / "other.xlsx")
    os.symlink(corpus.good, folder / "to-outside.xlsx")
    os.symlink(good, folder / "to-beside.xlsx")
    os.symlink(elsewhere, inbox / "511902")  # a whole county folder that is a link
    long_name = "恩" * 70 + ".xlsx"  # 215 bytes: no room left for the archive's prefix
    shutil.copy(corpus.good, folder / long_name)
    raw_name = os.fsdecode("恩阳区".encode("gbk") + b".xlsx")  # not UTF-8: cannot be stored
    shutil.copy(corpus.good, folder / raw_name)
    shutil.copy(corpus.good, folder / "..hidden.xlsx")
    assert pipeline.scan_inbox(ctx, now=time.time() + 60) == [str(good)]

    notice = folder / pipeline.RECEIPTS / pipeline.LEFT_NOTICE  # the county learns why
    lines = notice.read_text(encoding="utf-8").splitlines()
    assert "没有删除" in lines[0]
    assert (f"{long_name}：文件名过长（215 字节，上限 200 字节，约 66 个汉字）。"
            "请改短文件名后重新放入。") in lines
    assert "恩阳区.xlsx：文件名的编码无法识别（不是 UTF-8）。请重新命名后再放入。" in lines
    assert len(lines) == 4, "links and hidden files are not the county's business here"
    written = notice.stat().st_mtime_ns
    pipeline.scan_inbox(ctx, now=time.time() + 60)
    assert notice.stat().st_mtime_ns == written, "rewritten only when it changes"
    (folder / long_name).rename(folder / "恩阳区2025.xlsx")  # what the county does
    (folder / raw_name).rename(folder / "恩阳区2024.xlsx")
    assert len(pipeline.scan_inbox(ctx, now=time.time() + 60)) == 3
    assert notice.read_text(encoding="utf-8") == "目前没有未能读取的文件。\n"


def test_receipts_are_never_written_through_a_link(ctx, corpus, tmp_path):
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, folder / pipeline.RECEIPTS)
    shutil.copy(corpus.good, folder / "good.xlsx")
    shutil.copy(corpus.good, folder / ("恩" * 70 + ".xlsx"))
    (outcome,) = pipeline.ingest(ctx=ctx)
    assert outcome["status"] != "rejected" and Path(outcome["report"]).exists()
    assert not list(elsewhere.iterdir())


def test_a_link_swapped_in_after_the_scan_is_not_read(corpus, tmp_path):
    link = tmp_path / ENYANG / "swapped.xlsx"
    link.parent.mkdir()
    os.symlink(corpus.good, link)
    sub = read_submission(link, ENYANG, LIMITS)
    assert [i.rule for i in sub.issues] == ["unsafe_path"] and sub.fatal
    assert not read_submission(link, None, LIMITS).issues, "a dry run on a link the user chose"


@pytest.mark.parametrize(("variable", "value", "rule"), [
    ("PLANSTATS_MAX_FILE_MB", "0.01", "file_too_large"),
    ("PLANSTATS_MAX_XLSX_MB", "0.05", "zip_bomb"),
    ("PLANSTATS_MAX_ZIP_MEMBERS", "5", "zip_bomb"),
    ("PLANSTATS_MAX_ROWS", "20", "too_many_rows"),
    ("PLANSTATS_MAX_CELLS", "100", "sheet_too_large"),
])
def test_limits_are_settings(corpus, monkeypatch, variable, value, rule):
    monkeypatch.setenv(variable, value)
    sub = read_submission(corpus.good, ENYANG)
    assert [i.rule for i in sub.issues] == [rule] and sub.fatal
    monkeypatch.delenv(variable)
    assert not read_submission(corpus.good, ENYANG).issues


# the value parser and the CSV reader, on anything -----------------------------------------------

CELL_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(),
                        st.datetimes(), st.dates(), st.times(), st.timedeltas(),
                        st.integers(min_value=10**308, max_value=10**5000))


@given(CELL_VALUES)
def test_parse_number_returns_a_finite_number_or_raises_value_parse_error(raw):
    try:
        value = parse_number(raw)
    except ValueParseError:
        return
    assert value is None or (isinstance(value, float) and math.isfinite(value))


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
       st.sampled_from(["", "≥", "≤", "约", "不低于", " "]),
       st.sampled_from(["", "%", "％", "‰", "以上", " 个", "万元"]))
def test_parse_number_reads_decorated_numbers(value, prefix, suffix):
    assert parse_number(f"{prefix}{value!r}{suffix}") == pytest.approx(value)


@pytest.mark.parametrize("raw", ["1" * 32_767 + "x", "1," * 16_000, "9" * 32_766 + "e",
                                 "≥" * 32_767, "%" * 32_767, "1." + "1" * 32_000 + ".1"])
def test_parse_number_is_fast_on_the_longest_cells(raw):
    started = time.perf_counter()
    with pytest.raises(ValueParseError):
        parse_number(raw)
    assert time.perf_counter() - started < 0.5


CELL_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    max_size=24)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(CELL_TEXT, CELL_TEXT, CELL_TEXT, CELL_TEXT), max_size=12),
       delimiter=st.sampled_from(DELIMITERS),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]),
       quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
def test_csv_cells_round_trip_and_every_failure_is_an_issue(rows, delimiter, encoding, quoting):
    records = [CSV_HEADER] + [[ENYANG, "2023", f"ZB{n:04d}", *cells]
                              for n, cells in enumerate(rows, start=1)]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=quoting).writerows(records)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ENYANG / "data.csv"
        path.parent.mkdir()
        path.write_bytes(buffer.getvalue().encode(encoding))
        sub = read_submission(path, ENYANG, LIMITS)
    assert all(chinese(i.message) and "unexpected" not in i.message_en for i in sub.issues)
    assert not sub.fatal, [(i.rule, i.message_en) for i in sub.issues]
    by_row = {r.row: r for r in sub.rows}
    assert sorted(by_row) == list(range(2, len(rows) + 2))
    bad = {(i.row, i.column) for i in sub.issues if i.rule in ("numeric", "formula")}
    for n, (value, numerator, denominator, note) in enumerate(rows, start=2):
        row = by_row[n]
        assert [row.raw[c] for c in ("本年值", "分子", "分母", "说明")] == [
            value, numerator, denominator, note]
        for cell, parsed, column in ((value, row.value, "D"), (numerator, row.numerator, "E"),
                                     (denominator, row.denominator, "F")):
            try:
                assert parsed == parse_number(cell)
            except ValueParseError:
                assert (n, column) in bad


# what counties write comes back escaped ---------------------------------------------------------

def test_county_text_is_escaped_in_the_html_report(ctx):
    folder = ctx.settings.inbox / ENYANG
    folder.mkdir(parents=True)
    name = "<img src=x onerror=alert(1)>.csv"
    with (folder / name).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_HEADER)
        writer.writerow([ENYANG, 2023, "ZB0001", "<script>alert(1)</script>", "", "", ""])
        writer.writerow([ENYANG, 2023, "ZB0002", "=cmd|' /C calc'!A0", "", "", ""])
        writer.writerow([ENYANG, 2023, "ZB0003", "95", "", "", "<script>alert(2)</script>"])
    (outcome,) = pipeline.ingest(ctx=ctx)
    assert outcome["status"] == "rejected"
    assert {"numeric", "formula"} <= {i["rule"] for i in outcome["issues"]}
    pages = [Path(outcome["report"]), ctx.settings.reports / "2023" / "index.html",
             *(folder / pipeline.RECEIPTS).glob("*.html")]
    assert len(pages) == 3
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "<script>alert" not in html and "<img src=x" not in html, page
    report = pages[0].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "=cmd|&#39; /C calc&#39;!A0" in report

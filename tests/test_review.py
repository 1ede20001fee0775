"""Multi-level approval on real ingested workbooks, SQLite and PostgreSQL: who may decide what,
the levels and their locks, reopening top-down, approved bases per level, every decision kept."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from planstats import pipeline
from planstats.review import Reviewer, ReviewError, reviewer_scope
from planstats.settings import Settings

YEAR = 2023
MEISHAN, DONGPO, RENSHOU = "511400", "511402", "511421"
MEISHAN_OTHERS = ("511403", "511423", "511424", "511425")
CHENGDU, JINJIANG = "510100", "510104"
SICHUAN = "510000"

CITY = Reviewer("meishan", frozenset({MEISHAN}), may_decide=True)
CHENGDU_REVIEWER = Reviewer("chengdu", frozenset({CHENGDU}), may_decide=True)
PROVINCE = Reviewer("sichuan", frozenset({SICHUAN}), may_decide=True)
VIEWER = Reviewer("viewer", None, may_decide=False)


def ingest(ctx, make_workbook, *regions: str, year: int = YEAR, tag: str = "v1") -> dict:
    """Drop one workbook per region and ingest them together; region → submission id."""
    for region in regions:
        make_workbook(ctx.settings.inbox / region / f"{tag}.xlsx", region=region, year=year)
    outcomes = pipeline.ingest(ctx=ctx)
    assert all(o["status"] != "rejected" for o in outcomes), outcomes
    return {o["region_code"]: o["submission_id"] for o in outcomes}


def events(ctx) -> list[tuple]:
    with ctx.warehouse.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "select subject, region_code, action, reviewer from review_event order by at"))]


def test_reviewer_scope_comes_from_settings(data_dir, monkeypatch):
    monkeypatch.delenv("PLANSTATS_REVIEWER_REGIONS", raising=False)
    assert reviewer_scope(Settings.from_env(), "admin", True) == Reviewer("admin", None, True)

    monkeypatch.setenv("PLANSTATS_REVIEWER_REGIONS", '{"wang": ["511400", 510100]}')
    settings = Settings.from_env()
    assert reviewer_scope(settings, "wang", True).regions == {"511400", "510100"}
    assert reviewer_scope(settings, "stranger", True).regions == frozenset(), \
        "with the mapping set, a user it does not list decides nowhere"

    monkeypatch.setenv("PLANSTATS_REVIEWER_REGIONS", '["511400"]')
    with pytest.raises(ValueError, match="PLANSTATS_REVIEWER_REGIONS"):
        Settings.from_env()


def test_who_may_decide(wh_ctx, make_workbook):
    ctx = wh_ctx
    ids = ingest(ctx, make_workbook, DONGPO, JINJIANG)

    with pytest.raises(PermissionError, match="只有查看权限"):
        pipeline.review_decide(ids[DONGPO], "approve", VIEWER, ctx=ctx)
    with pytest.raises(PermissionError, match="不能对 锦江区"):
        pipeline.review_decide(ids[JINJIANG], "approve", CITY, ctx=ctx)
    with pytest.raises(PermissionError, match="东坡区"):
        pipeline.review_decide(ids[DONGPO], "approve", CHENGDU_REVIEWER, ctx=ctx)
    with pytest.raises(PermissionError):  # a county's own reviewer does not approve itself
        pipeline.review_decide(ids[DONGPO], "approve", Reviewer("dp", frozenset({DONGPO}), True),
                               ctx=ctx)
    assert pipeline.review_show(ids[DONGPO], ctx)["review_status"] == "pending"

    # the queue shows each reviewer what awaits them, viewers read-only
    assert [i["id"] for i in pipeline.review_queue(YEAR, CITY, ctx)] == [ids[DONGPO]]
    assert [i["id"] for i in pipeline.review_queue(YEAR, CHENGDU_REVIEWER, ctx)] == [ids[JINJIANG]]
    assert {i["can_decide"] for i in pipeline.review_queue(YEAR, VIEWER, ctx)} == {False}

    after = pipeline.review_decide(ids[DONGPO], "approve", CITY, "核对无误", ctx)
    assert (after["review_status"], after["reviewer"]) == ("approved", "meishan")
    assert after["events"][0]["reviewer"] == "meishan"
    with pytest.raises(ReviewError, match="意见"):
        pipeline.review_decide(ids[JINJIANG], "return", CHENGDU_REVIEWER, " ", ctx)
    assert pipeline.review_queue(YEAR, CITY, ctx) == []
    assert events(ctx) == [("submission", DONGPO, "approve", "meishan")]


def test_levels_locks_and_top_down_reopening(wh_ctx, make_workbook):
    ctx = wh_ctx
    pengshan = MEISHAN_OTHERS[0]
    ids = ingest(ctx, make_workbook, DONGPO, RENSHOU, pengshan)

    with pytest.raises(ReviewError, match="还不能审核通过") as refused:
        pipeline.review_decide_region(MEISHAN, YEAR, "approve", PROVINCE, ctx=ctx)
    assert "东坡区（待审核）" in str(refused.value) and "洪雅县（未报送）" in str(refused.value)
    with pytest.raises(ReviewError, match="报送文件"):
        pipeline.review_decide_region(DONGPO, YEAR, "approve", CITY, ctx=ctx)

    for region in (DONGPO, RENSHOU):
        pipeline.review_decide(ids[region], "approve", CITY, ctx=ctx)
    with pytest.raises(ReviewError, match="意见"):
        pipeline.review_decide_region(MEISHAN_OTHERS[0], YEAR, "not_reporting", CITY, ctx=ctx)
    with pytest.raises(ReviewError, match="已审核通过"):
        pipeline.review_decide_region(DONGPO, YEAR, "not_reporting", CITY, "无", ctx)
    for region in MEISHAN_OTHERS:
        pipeline.review_decide_region(region, YEAR, "not_reporting", CITY, "本年度未开展", ctx)
    # excused, yet a file of its own awaits a decision: that file is reviewed first
    with pytest.raises(ReviewError, match="彭山区（待审核）"):
        pipeline.review_decide_region(MEISHAN, YEAR, "approve", PROVINCE, ctx=ctx)
    pipeline.review_decide(ids[pengshan], "return", CITY, "与本年度不报送的说明不符", ctx)
    owing = pipeline.reminders(YEAR, ctx)["owing"]
    assert JINJIANG in owing and not set(MEISHAN_OTHERS) & set(owing), "excused: no reminder"

    # the city's figures are decided at province level, and the province's queue shows them
    with pytest.raises(PermissionError):
        pipeline.review_decide_region(MEISHAN, YEAR, "approve", CITY, ctx=ctx)
    queued = [i for i in pipeline.review_queue(YEAR, PROVINCE, ctx) if i["kind"] == "region"]
    assert [(i["region_code"], i["ready"], i["total"]) for i in queued] == [(MEISHAN, 6, 6)]
    state = pipeline.review_decide_region(MEISHAN, YEAR, "approve", PROVINCE, "同意", ctx)
    assert (state["state"], state["ready"], state["total"]) == ("approved", 6, 6)

    # a higher approval locks the levels below: no decision there, no resubmission
    with pytest.raises(ReviewError, match="锁定"):
        pipeline.review_decide(ids[DONGPO], "reopen", CITY, "县里申请更正", ctx)
    with pytest.raises(ReviewError, match="锁定"):
        pipeline.review_decide_region(MEISHAN_OTHERS[1], YEAR, "reopen", CITY, "补报", ctx)
    assert pipeline.review_show(ids[DONGPO], ctx)["locked_by"]["region_code"] == MEISHAN
    make_workbook(ctx.settings.inbox / MEISHAN_OTHERS[1] / "late.xlsx",
                  region=MEISHAN_OTHERS[1], year=YEAR)
    (late,) = pipeline.ingest(ctx=ctx)
    assert late["status"] == "rejected"
    assert [i["rule"] for i in late["issues"]] == ["approved_locked"]
    assert MEISHAN in late["issues"][0]["message"]

    # statistics on the approved basis per level
    plan = "meishan-14th"
    for basis in ("approved", "approved_city", "approved_prov"):
        pipeline.run_rollup(plan, YEAR, ctx, basis=basis)
    top = {basis: {r.indicator_code: r for r in pipeline.statistics(plan, YEAR, ctx, basis)
                   if r.region_code == MEISHAN}
           for basis in ("approved", "approved_city", "approved_prov")}
    code = next(c for c, r in top["approved"].items() if r.value is not None)
    assert top["approved_city"][code].value == top["approved"][code].value
    assert top["approved_city"][code].reporting_regions == 2
    assert top["approved_prov"][code].value is None, "the province has not approved yet"

    # the province's own figures need every city approved or excused
    with pytest.raises(ReviewError, match="还不能审核通过"):
        pipeline.review_decide_region(SICHUAN, YEAR, "approve", PROVINCE, ctx=ctx)
    cities = [a["region_code"] for a in pipeline.review_approvals(YEAR, ctx)
              if a["level"] == "city" and a["region_code"] != MEISHAN]
    assert len(cities) == 20
    for city in cities:
        pipeline.review_decide_region(city, YEAR, "not_reporting", PROVINCE, "试点外", ctx)
    assert pipeline.reminders(YEAR, ctx)["owing"] == []
    pipeline.review_decide_region(SICHUAN, YEAR, "approve", PROVINCE, ctx=ctx)
    pipeline.run_rollup(plan, YEAR, ctx, basis="approved_prov")
    prov = {r.indicator_code: r for r in pipeline.statistics(plan, YEAR, ctx, "approved_prov")
            if r.region_code == MEISHAN}
    assert prov[code].value == top["approved"][code].value

    # reopening goes top-down: province, then city, then the county's submission
    with pytest.raises(ReviewError, match="锁定"):
        pipeline.review_decide_region(MEISHAN, YEAR, "reopen", PROVINCE, "更正", ctx)
    pipeline.review_decide_region(SICHUAN, YEAR, "reopen", PROVINCE, "眉山申请更正", ctx)
    pipeline.review_decide_region(MEISHAN, YEAR, "reopen", PROVINCE, "东坡区申请更正", ctx)
    reopened = pipeline.review_decide(ids[DONGPO], "reopen", CITY, "县里申请更正", ctx)
    assert reopened["review_status"] == "reopened" and reopened["locked_by"] is None

    kept = events(ctx)
    assert kept[-3:] == [("region", SICHUAN, "reopen", "sichuan"),
                         ("region", MEISHAN, "reopen", "sichuan"),
                         ("submission", DONGPO, "reopen", "meishan")]
    assert len(kept) == 2 + 4 + 1 + 1 + 20 + 1 + 3, "every decision stays in review_event"


def first_value(ctx, submission_id: str) -> tuple[str, str, float]:
    with ctx.warehouse.engine.connect() as conn:
        return tuple(conn.execute(text(
            "select region_code, indicator_code, value from fact_value where submission_id = :id"
            " and value is not null order by indicator_code limit 1"), {"id": submission_id}).one())


def receipt(ctx, region: str, stem: str) -> str:
    return (ctx.settings.inbox / region / "回执" / f"{stem}.审核报告.html").read_text("utf-8")


def test_follow_up_marks_reach_the_county_and_clear(wh_ctx, make_workbook):
    ctx = wh_ctx
    ids = {}
    for year in (YEAR, YEAR + 1):
        ids[year] = ingest(ctx, make_workbook, DONGPO, year=year, tag=f"{year}")[DONGPO]
    region, indicator, value = first_value(ctx, ids[YEAR])

    with pytest.raises(ReviewError, match="意见"):
        pipeline.review_flag(ids[YEAR], region, indicator, CITY, "", ctx)
    with pytest.raises(PermissionError):
        pipeline.review_flag(ids[YEAR], region, indicator, CHENGDU_REVIEWER, "偏高", ctx)
    with pytest.raises(ReviewError, match="没有"):
        pipeline.review_flag(ids[YEAR], region, "ZB9999", CITY, "偏高", ctx)
    mark = pipeline.review_flag(ids[YEAR], region, indicator, CITY, "较上年增幅过大，请核实", ctx)
    assert (mark["state"], mark["value"], mark["flagged_by"]) == ("open", value, "meishan")
    with pytest.raises(ReviewError, match="已标记"):
        pipeline.review_flag(ids[YEAR], region, indicator, CITY, "再标一次", ctx)
    assert [m["follow_up_id"] for m in pipeline.review_follow_ups(YEAR, "open", ctx)] \
        == [mark["follow_up_id"]]
    assert pipeline.review_follow_ups(YEAR + 1, ctx=ctx) == []
    assert [m["follow_up_id"] for m in pipeline.review_show(ids[YEAR], ctx)["follow_ups"]] \
        == [mark["follow_up_id"]]

    other = pipeline.review_flag(ids[YEAR + 1], *first_value(ctx, ids[YEAR + 1])[:2], CITY,
                                 "请补充说明", ctx)
    closed = pipeline.review_close_follow_up(other["follow_up_id"], CITY, "已电话核实", ctx)
    assert (closed["state"], closed["closed_by"]) == ("closed", "meishan")
    with pytest.raises(ReviewError, match="无需关闭"):
        pipeline.review_close_follow_up(other["follow_up_id"], CITY, None, ctx)

    # the county's next receipt (another year's file) lists the open mark, not the closed one
    make_workbook(ctx.settings.inbox / DONGPO / "next.xlsx", region=DONGPO, year=YEAR + 1,
                  notes={indicator: "补充说明"})
    pipeline.ingest(ctx=ctx)
    page = receipt(ctx, DONGPO, "next")
    assert "审核人标记的待核实数值 1 项" in page and "较上年增幅过大，请核实" in page
    assert "请补充说明" not in page

    # resubmitting the year answers its marks
    make_workbook(ctx.settings.inbox / DONGPO / "fixed.xlsx", region=DONGPO, year=YEAR,
                  notes={indicator: "经核实无误"})
    (fixed,) = pipeline.ingest(ctx=ctx)
    resolved = pipeline.review_follow_ups(YEAR, ctx=ctx)[0]
    assert (resolved["state"], resolved["resolved_by"]) == ("resolved", fixed["submission_id"])
    assert "本次提交已答复" in receipt(ctx, DONGPO, "fixed")
    assert pipeline.review_follow_ups(YEAR, "open", ctx) == []
    assert [e[2] for e in events(ctx)] == ["flag", "flag", "close"]


def test_cli_records_the_operating_system_user(ctx, make_workbook, capsys):
    import getpass

    from planstats import cli

    ids = ingest(ctx, make_workbook, DONGPO)
    assert cli.main(["review", "approve", ids[DONGPO], "--reviewer", "随便谁"]) == 0
    out = capsys.readouterr()
    assert "--reviewer 已不再使用" in out.err
    assert pipeline.review_show(ids[DONGPO], ctx)["reviewer"] == f"cli:{getpass.getuser()}"
    assert cli.main(["review", "approve", "--region", MEISHAN, "--year", str(YEAR)]) == 2
    assert "还不能审核通过" in capsys.readouterr().err
    assert cli.main(["review", "queue", "--year", str(YEAR), "--json"]) == 0


def test_a_county_decision_waits_for_its_city(wh_ctx, make_workbook):
    """Decisions lock top-down (the deciding level, then the region), so a city's approval and a
    decision on one of its counties never interleave."""
    import threading

    ctx = wh_ctx
    ids = ingest(ctx, make_workbook, DONGPO)
    wh = ctx.warehouse
    done: list = []
    worker = threading.Thread(target=lambda: done.append(
        pipeline.review_decide(ids[DONGPO], "approve", CITY, ctx=ctx)))
    with wh.engine.begin() as conn:  # what a decision on 眉山市's figures holds
        wh.lock_region_year(conn, MEISHAN, YEAR)
        worker.start()
        worker.join(timeout=2)
        assert worker.is_alive(), "the county's decision went ahead under its city's lock"
    worker.join(timeout=60)
    assert done and done[0]["review_status"] == "approved"


def test_decisions_made_before_the_upgrade_keep_their_subject(data_dir, tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from planstats.warehouse import Warehouse
    from tests.conftest import ROOT

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    config = Config()
    config.set_main_option("script_location", str(ROOT / "planstats" / "migrations"))
    engine = create_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004_indexes")
        conn.execute(text(
            "insert into review_event (event_id, submission_id, region_code, year, action,"
            " reviewer, comment, at) values ('e1', 's1', '511903', 2021, 'approve', '王审核',"
            " null, '2022-03-01T00:00:00+00:00')"))
    engine.dispose()
    Warehouse(url, ROOT / "include" / "sql").create_schema()
    with create_engine(url).connect() as conn:
        row = conn.execute(text("select subject, subject_id, reviewer from review_event")).one()
        assert tuple(row) == ("submission", None, "王审核")
        assert conn.execute(text("select count(*) from follow_up")).scalar() == 0
        assert conn.execute(text("select count(*) from region_approval")).scalar() == 0

"""The workspace served by a real ``airflow standalone``: authentication, permissions, pages
with real data, the JSON contract, approval levels and locks, and no file outside the data
folders. The decisions run in one ordered test, since each step builds on the one before.
The app's garbage-collector setting is checked on the app itself, in this process.
"""

from __future__ import annotations

import gc
import http.client
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from planstats.web import app as web
from tests.web.conftest import DONGPO, JINJIANG, MEISHAN, RENSHOU, YEAR, Workspace

API_FIELDS = {"id", "region_code", "year", "status", "review_status", "reviewer", "reviewed_at",
              "file_name", "received_at"}


def _raw_get(ws: Workspace, path: str, token: str) -> tuple[int, bytes]:
    """GET a path exactly as written: no client-side clean-up of ``..`` or ``//``."""
    parts = urlsplit(ws.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    return response.status, response.read()


def test_anonymous_and_bad_tokens_are_refused(workspace: Workspace) -> None:
    with workspace.client() as anon:
        page = anon.get("/planstats/")
        assert page.status_code == 401
        assert "登录" in page.text and "东坡区" not in page.text
        assert anon.get("/planstats/api/submissions", params={"year": YEAR}).status_code == 401
        assert anon.post(f"/planstats/api/submissions/{workspace.ids[DONGPO]}/decisions",
                         json={"action": "approve"}).status_code == 401
        assert anon.get(f"/planstats/submissions/{workspace.ids[DONGPO]}/files/original"
                        ).status_code == 401
        forged = anon.get("/planstats/api/submissions", params={"year": YEAR},
                          headers={"Authorization": "Bearer not-a-jwt"})
        assert forged.status_code in (401, 403)


def test_api_lists_the_year_in_the_contract_shape(workspace: Workspace) -> None:
    with workspace.client("viewer") as viewer:
        rows = viewer.get("/planstats/api/submissions", params={"year": YEAR}).json()
    assert all(set(r) == API_FIELDS for r in rows)
    by_region = {r["region_code"]: r for r in rows}
    assert by_region[DONGPO]["id"] == workspace.ids[DONGPO]
    assert by_region["510105"]["status"] == "rejected"
    assert {r["year"] for r in rows} == {YEAR}


def test_pages_render_the_warehouse(workspace: Workspace) -> None:
    with workspace.client("viewer") as viewer:
        overview = viewer.get("/planstats/", params={"year": YEAR})
        assert overview.status_code == 200
        # the county grid: every county of 四川省 by city, with its state
        assert overview.text.count('<a class="tile st-') == 183
        assert re.search(r'st-pending"[^>]*>东坡区', overview.text)
        assert re.search(r'st-rejected_only"[^>]*>青羊区', overview.text)
        assert "四川省“十四五”城乡社区发展治理规划" in overview.text

        versions = viewer.get("/planstats/submissions", params={"year": YEAR,
                                                               "region": "510105"})
        assert "青羊区2025.xlsx" in versions.text and "未通过校验" in versions.text

        detail = viewer.get(f"/planstats/submissions/{workspace.ids[DONGPO]}")
        assert detail.status_code == 200
        assert "指标数据!E" in detail.text  # each value's cell in the county's workbook
        assert "标记待核实" not in detail.text  # a viewer gets no decision forms

        stats = viewer.get("/planstats/statistics", params={
            "plan": "meishan-14th", "year": YEAR, "region": MEISHAN})
        assert stats.status_code == 200
        assert f"region={DONGPO}" in stats.text and "下钻" in stats.text

        code = re.search(r"indicator=([A-Z0-9_]+)", stats.text).group(1)
        sources = viewer.get("/planstats/statistics/sources", params={
            "plan": "meishan-14th", "year": YEAR, "region": MEISHAN, "indicator": code})
        assert sources.status_code == 200
        assert f"{DONGPO}_{YEAR}.xlsx" in sources.text and f"{RENSHOU}_{YEAR}.xlsx" in sources.text
        assert re.search(r"<td>[A-Z]+\d+", sources.text)  # a cell reference such as E7
        assert "彭山区" in sources.text  # a county of 眉山市 that sent nothing is named

        queue = viewer.get("/planstats/review", params={"year": YEAR})
        assert "只读" in queue.text and 'method="post"' not in queue.text

        docs = viewer.get("/planstats/datadocs/index.html")
        assert docs.status_code == 200 and "校验结果" in docs.text
        run = re.search(r'/planstats/datadocs/(validations/[^"]+\.html)"', docs.text).group(1)
        page = viewer.get(f"/planstats/datadocs/{run}")
        assert page.status_code == 200 and "Expectation" in page.text
        assert not re.search(r'(src|href)="https?://[^"]*(cdn|unpkg|jquery)', page.text)
        assert "Stay current on everything GX" not in page.text

        xlsx = viewer.get(f"/planstats/statistics/files/meishan-14th/{YEAR}/accepted/xlsx")
        assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
        original = viewer.get(f"/planstats/submissions/{workspace.ids[DONGPO]}/files/original")
        assert original.status_code == 200 and original.content[:2] == b"PK"


def test_sources_add_up_to_the_published_figures(workspace: Workspace) -> None:
    """The provenance query picks the same values the roll-up summed, for every basis."""
    from planstats.rollup import BASES
    from planstats.web import views

    with pytest.MonkeyPatch.context() as mp:
        for key, value in workspace.env.items():
            if key.startswith("PLANSTATS_"):
                mp.setenv(key, value)
        ctx = views.context()
        plan = ctx.catalog.plan("meishan-14th")
        checked = 0
        for basis in BASES:
            for ind in plan.indicators:
                try:
                    page = views.value_sources(ctx, plan.code, YEAR, MEISHAN, ind.code, basis)
                except views.NotFound:
                    continue
                figure, aggregation = page["figure"], ind.concept.aggregation
                if figure["direct"] or figure["value"] is None:
                    continue
                if aggregation == "sum":
                    assert page["sum_value"] == pytest.approx(figure["value"]), ind.code
                elif aggregation == "ratio":
                    assert page["sum_numerator"] == pytest.approx(figure["numerator"]), ind.code
                    assert page["sum_denominator"] == pytest.approx(figure["denominator"])
                else:
                    continue
                assert page["counted"] == figure["reporting_regions"], ind.code
                checked += 1
        assert checked >= 5


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)


def _api_decide(client, sub: str, action: str, comment: str | None = None):
    return client.post(f"/planstats/api/submissions/{sub}/decisions",
                       json={"action": action, "comment": comment})


def test_decisions_scopes_levels_and_locks(workspace: Workspace) -> None:
    ids = workspace.ids
    with (workspace.client("viewer") as viewer, workspace.client("meishan") as meishan,
          workspace.client("chengdu") as chengdu, workspace.client("admin") as admin):
        # a viewer may read but not decide
        assert _api_decide(viewer, ids[DONGPO], "approve").status_code == 403
        # a reviewer of 眉山市 cannot approve 成都市's data, nor the other way round
        refused = _api_decide(meishan, ids[JINJIANG], "approve")
        assert refused.status_code == 403, refused.text
        assert _api_decide(chengdu, ids[DONGPO], "approve").status_code == 403
        # return needs a comment
        assert _api_decide(meishan, ids[DONGPO], "return").status_code == 400
        after = _api_decide(meishan, ids[DONGPO], "approve")
        assert after.status_code == 200, after.text
        body = after.json()
        assert set(body) == API_FIELDS
        assert body["review_status"] == "approved" and body["reviewer"] == "meishan"
        assert _api_decide(meishan, ids[RENSHOU], "approve").status_code == 200

        # 眉山市's figures wait for every county of the city
        page = admin.get("/planstats/review", params={"year": YEAR}).text
        token = _csrf(page)
        city = admin.post(f"/planstats/review/region/{MEISHAN}", data={
            "action": "approve", "year": YEAR, "csrf_token": token})
        assert city.status_code == 400 and "还不能审核通过" in city.text
        for county in ("511403", "511423", "511424", "511425"):  # 彭山区 洪雅县 丹棱县 青神县
            marked = admin.post(f"/planstats/review/region/{county}", data={
                "action": "not_reporting", "year": YEAR, "csrf_token": token,
                "comment": "本年度不报送（测试）"}, follow_redirects=False)
            assert marked.status_code == 303, marked.text
        city = admin.post(f"/planstats/review/region/{MEISHAN}", data={
            "action": "approve", "year": YEAR, "csrf_token": token}, follow_redirects=False)
        assert city.status_code == 303, city.text

        # the city's approval locks its counties: reopening goes top-down
        locked = _api_decide(admin, ids[DONGPO], "reopen", "更正数据")
        assert locked.status_code == 400
        reopened = admin.post(f"/planstats/review/region/{MEISHAN}", data={
            "action": "reopen", "year": YEAR, "csrf_token": token, "comment": "更正"},
            follow_redirects=False)
        assert reopened.status_code == 303
        again = _api_decide(admin, ids[DONGPO], "reopen", "更正数据")
        assert again.status_code == 200 and again.json()["review_status"] == "reopened"

        detail = admin.get(f"/planstats/submissions/{ids[DONGPO]}").text
        assert "meishan" in detail and "admin" in detail and "更正数据" in detail

        # a follow-up mark (待核实) on one value: listed for the year, then closed
        page = admin.get(f"/planstats/submissions/{ids[RENSHOU]}").text
        code = re.search(r'name="indicator_code" value="([A-Z0-9]+)"', page).group(1)
        flagged = admin.post(f"/planstats/submissions/{ids[RENSHOU]}/flags", data={
            "region_code": RENSHOU, "indicator_code": code, "comment": "数值偏高，请核实",
            "csrf_token": token}, follow_redirects=False)
        assert flagged.status_code == 303, flagged.text
        marks = admin.get("/planstats/follow-ups", params={"year": YEAR}).text
        assert "数值偏高，请核实" in marks and "待核实" in marks
        mark = re.search(r'/planstats/follow-ups/([0-9a-f]+)/close', marks).group(1)
        closed = admin.post(f"/planstats/follow-ups/{mark}/close", data={
            "year": YEAR, "csrf_token": token, "comment": "已核实"}, follow_redirects=False)
        assert closed.status_code == 303, closed.text
        assert "已关闭" in admin.get("/planstats/follow-ups", params={"year": YEAR}).text


def test_cookie_posts_need_the_page_token(workspace: Workspace) -> None:
    with workspace.client("admin", cookie=True) as browser:
        page = browser.get("/planstats/review", params={"year": YEAR})
        assert page.status_code == 200
        sub = workspace.ids[JINJIANG]
        form = {"action": "return", "year": YEAR, "comment": "请补充说明"}
        assert browser.post(f"/planstats/review/{sub}", data=form).status_code == 403
        forged = browser.post(f"/planstats/review/{sub}", data={**form, "csrf_token": "0" * 64})
        assert forged.status_code == 403
        elsewhere = browser.post(f"/planstats/review/{sub}",
                                 data={**form, "csrf_token": _csrf(page.text)},
                                 headers={"Origin": "https://evil.example"})
        assert elsewhere.status_code == 403
        assert browser.post(f"/planstats/api/submissions/{sub}/decisions",
                            json={"action": "return", "comment": "x"}).status_code == 403
        done = browser.post(f"/planstats/review/{sub}",
                            data={**form, "csrf_token": _csrf(page.text)},
                            headers={"Origin": workspace.url}, follow_redirects=False)
        assert done.status_code == 303
        rows = browser.get("/planstats/api/submissions", params={"year": YEAR}).json()
        assert next(r for r in rows if r["id"] == sub)["review_status"] == "returned"


def test_no_file_outside_the_data_folders(workspace: Workspace, tmp_path: Path) -> None:
    token = workspace.token("admin")
    secret = tmp_path / "secret.txt"
    secret.write_text("not for reviewers")
    docs = next(workspace.data.rglob("data_docs/local_site"))
    (docs / "leak.html").symlink_to(secret)
    stored = next(p for p in (workspace.data / "archive").rglob(f"*{JINJIANG}_{YEAR}.xlsx"))
    (stored.parent / f"{stored.name}.批注.xlsx").symlink_to(secret)
    for path in ("/planstats/datadocs/../../../../../../etc/passwd",
                 "/planstats/datadocs/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                 "/planstats/datadocs//etc/passwd",
                 f"/planstats/datadocs/{os.path.abspath(secret)}",
                 "/planstats/datadocs/leak.html",
                 f"/planstats/submissions/{workspace.ids[JINJIANG]}/files/annotated",
                 f"/planstats/submissions/{workspace.ids[JINJIANG]}/files/..%2f..%2fetc%2fpasswd",
                 f"/planstats/statistics/files/..%2f..%2f/{YEAR}/accepted/xlsx",
                 "/planstats/static/..%2f..%2fetc%2fpasswd"):
        status, body = _raw_get(workspace, path, token)
        assert status in (404, 400), (path, status)
        assert b"not for reviewers" not in body and b"root:" not in body, path


def test_the_plugin_shows_in_airflow(workspace: Workspace) -> None:
    with workspace.client("admin") as admin:
        plugins = admin.get("/api/v2/plugins").json()["plugins"]
    mine = next(p for p in plugins if p["name"] == "planstats_workspace")
    assert {v["destination"] for v in mine["external_views"]} == {"nav", "dag"}
    assert {a["url_prefix"] for a in mine["fastapi_apps"]} == {"/planstats"}


def test_the_first_request_freezes_what_the_server_holds_out_of_full_collections():
    """A full collection walked every object of the server (≈ 620,000 with Airflow and GX:
    0.05–0.4 s, inside whichever request it fell in; bench/pages.py)."""
    web._settle.cache_clear()
    gc.unfreeze()
    try:
        client = TestClient(web.create_app())
        assert gc.get_freeze_count() == 0
        client.get("/no-such-page")
        held = gc.get_freeze_count()
        assert held > 10_000
        client.get("/no-such-page")
        assert gc.get_freeze_count() == held  # once a process
    finally:
        gc.unfreeze()
        web._settle.cache_clear()

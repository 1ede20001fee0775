"""A reviewer in a real browser: headless Chromium against ``airflow standalone``.

Logs in through Airflow's own login page, opens the review queue, approves 金牛区's submission,
sees its status change, and saves a screenshot of every page (``PLANSTATS_SCREENSHOTS`` keeps
them; by default pytest's tmp_path). Each screenshot is checked to be a real, rendered page.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.web.browser import Browser, ensure_chromium
from tests.web.conftest import DONGPO, JINNIU, MEISHAN, YEAR, Workspace


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = ensure_chromium()
    if binary is None:
        pytest.skip("chromium is not installed and cannot be installed here (not root)")
    page = Browser(binary, tmp_path_factory.mktemp("chromium"))
    try:
        yield page
    finally:
        page.close()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def _shot(browser: Browser, folder: Path, name: str, must_show: str) -> Path:
    """Screenshot the page, after checking it shows ``must_show`` with the CJK font in use."""
    assert must_show in browser.text, (name, browser.url, browser.text[:300])
    assert browser.eval("document.fonts.check('16px \"Noto Sans CJK SC\"', '审核')"), \
        "the CJK font is not available: screenshots would show boxes"
    path = browser.screenshot(folder / f"{name}.png")
    width, height = _png_size(path)
    assert width >= 1000 and height >= 300 and path.stat().st_size > 20_000, (name, width, height)
    return path


def test_reviewer_logs_in_and_approves(workspace: Workspace, browser: Browser,
                                       tmp_path: Path) -> None:
    shots = Path(os.environ.get("PLANSTATS_SCREENSHOTS") or tmp_path)
    base = f"{workspace.url}/planstats"
    sub = workspace.ids[JINNIU]

    browser.goto(f"{base}/review?year={YEAR}")
    _shot(browser, shots, "00_refused_before_login", "请先登录")

    browser.goto(f"{workspace.url}/auth/login?next={quote(f'{base}/review?year={YEAR}')}")
    browser.type_into("input[name=username]", "admin")
    browser.type_into("input[name=password]", workspace.password("admin"))
    browser.click("button[type=submit]")
    browser.wait_for(f"location.href.startsWith({base!r} + '/review')")
    browser.wait_for("document.readyState === 'complete'")
    _shot(browser, shots, "01_review_queue", "金牛区")
    assert "admin（可审核）" in browser.text

    browser.click(f"#s{sub} button[type=submit]")  # the first button of the row: 审核通过
    browser.wait_for("!!document.querySelector('.flash')")
    _shot(browser, shots, "02_after_approval", "已完成")
    assert browser.eval(f"!document.querySelector('#s{sub}')"), "approved row still queued"

    browser.goto(f"{base}/submissions/{sub}")
    _shot(browser, shots, "03_submission", "已审核通过")
    assert "admin" in browser.text and "审核通过" in browser.text

    pages = [
        ("04_overview", f"{base}/?year={YEAR}", "各县（市、区）报送与审核情况"),
        ("05_submissions", f"{base}/submissions?year={YEAR}", "金牛区"),
        ("06_statistics", f"{base}/statistics?plan=meishan-14th&year={YEAR}&region={MEISHAN}",
         "下级地区"),
        ("07_statistics_county",
         f"{base}/statistics?plan=meishan-14th&year={YEAR}&region={DONGPO}", "东坡区"),
        ("09_follow_ups", f"{base}/follow-ups?year={YEAR}", "待核实"),
        ("10_data_docs", f"{base}/datadocs/index.html", "校验结果"),
        ("11_airflow_nav", f"{workspace.url}/plugin/planstats", ""),
    ]
    for name, url, text in pages:
        browser.goto(url)
        if name == "11_airflow_nav":  # Airflow's React UI with the workspace in its iframe
            browser.wait_for("!!document.querySelector('iframe')", 120)
            browser.wait_for("(() => { const f = document.querySelector('iframe');"
                             " return f.contentDocument && f.contentDocument.body &&"
                             " f.contentDocument.body.innerText.includes('年度总览'); })()", 120)
        _shot(browser, shots, name, text)
        if name == "10_data_docs":
            href = browser.eval(
                "document.querySelector('a[href*=\"/datadocs/validations/\"]').href")
            browser.goto(href)
            _shot(browser, shots, "10b_data_docs_validation", "Expectation")
            browser.goto(url)
        if name == "06_statistics":
            href = browser.eval("document.querySelector('a[href*=\"/statistics/sources\"]').href")
            browser.goto(href)
            _shot(browser, shots, "08_sources", "计入的报送值")

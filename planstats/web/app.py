"""The workspace's FastAPI app, mounted by the Airflow plugin under ``/planstats``.

Routes are thin: authenticate (planstats.web.auth), call planstats functions (the CLI's), render
a template of include/templates/web or return JSON.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel

from planstats import pipeline, review
from planstats.publish import STATUS_LABELS
from planstats.rollup import BASES, BASIS_LABELS
from planstats.web import files, views
from planstats.web.auth import CSRF_FIELD, CSRF_HEADER, Visitor, check_same_origin, visitor

URL_PREFIX = "/planstats"
Who = Annotated[Visitor, Depends(visitor)]
FormText = Annotated[str, Form()]
FormYear = Annotated[int, Form()]
FormOptional = Annotated[str | None, Form()]


@cache
def _templates(folder: Path):
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["j2"]))
    env.filters["beijing"] = views.beijing
    env.filters["num"] = lambda v: "" if v is None else f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    env.filters["pct"] = lambda v: "" if v is None else f"{v:.1%}"
    return env


def _base(request: Request) -> str:
    """This app's URL prefix as the browser sees it (the api-server may sit under a path)."""
    return request.scope.get("root_path", "").rstrip("/") or URL_PREFIX


def render(request: Request, template: str, who: Visitor | None, status: int = 200,
           **context: Any) -> HTMLResponse:
    env = _templates(views.context().settings.include_dir / "templates")
    html = env.get_template(f"web/{template}").render(
        base=_base(request), who=who, csrf_field=CSRF_FIELD, review_labels=review.LABELS,
        states=views.COUNTY_STATES, action_labels=review.ACTION_LABELS,
        status_labels=STATUS_LABELS, **context)
    return HTMLResponse(html, status_code=status)


def _year(ctx: pipeline.Context, year: int | None) -> int:
    return year if year is not None else views.default_year(ctx)


def _api(request: Request) -> bool:
    return request.url.path.removeprefix(_base(request)).startswith("/api/")


@cache
def _settle() -> None:
    """At the first request, the objects the server holds (Airflow's, GX's and planstats'
    modules: ≈ 620,000) frozen out of the garbage collector's full collections: each walked
    them all, 0.05-0.4 s inside some request, and freed next to nothing."""
    gc.freeze()


def create_app() -> FastAPI:
    app = FastAPI(title="planstats 审核工作台", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def server_timing(request: Request, call_next):  # what bench/pages.py reads
        _settle()
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException):
        if _api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        if exc.status_code != 401:
            return render(request, "message.html.j2", None, status=exc.status_code,
                          title="无权进行此操作", message=exc.detail, login=None)
        from airflow.api_fastapi.app import get_auth_manager

        return render(request, "message.html.j2", None, status=401, title="请先登录",
                      message="规划指标统计审核工作台使用 Airflow 的登录：登录后即可查看。",
                      login=get_auth_manager().get_url_login(next_url=str(request.url)))

    @app.exception_handler(views.NotFound)
    async def not_found(request: Request, exc: views.NotFound):
        if _api(request):
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return render(request, "message.html.j2", None, status=404, title="未找到",
                      message=str(exc), login=None)

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request, who: Who, year: int | None = None,
                 basis: str = "accepted") -> HTMLResponse:
        ctx = views.context()
        year = _year(ctx, year)
        if basis not in BASES:
            raise views.NotFound(f"没有数据基准 {basis}")
        return render(request, "overview.html.j2", who, years=views.years(ctx),
                      downloads=views.statistics_downloads(ctx, year),
                      basis_labels=BASIS_LABELS, **views.overview(ctx, year, basis))

    @app.get("/submissions", response_class=HTMLResponse)
    def submissions(request: Request, who: Who, year: int | None = None,
                    region: str | None = None) -> HTMLResponse:
        ctx = views.context()
        year = _year(ctx, year)
        return render(request, "submissions.html.j2", who, year=year, years=views.years(ctx),
                      region=region, region_name=ctx.regions.name(region) if region else None,
                      groups=views.county_versions(ctx, year, region))

    @app.get("/submissions/{submission_id}", response_class=HTMLResponse)
    def submission(request: Request, who: Who, submission_id: str,
                   done: str | None = None) -> HTMLResponse:
        return render(request, "submission.html.j2", who, done=done,
                      s=views.submission_detail(views.context(), submission_id))

    @app.get("/submissions/{submission_id}/files/{kind}")
    def submission_file(who: Who, submission_id: str, kind: str) -> FileResponse:
        path = files.submission_file(views.context(), submission_id, kind)
        if path is None:
            raise views.NotFound("没有这个文件")
        return FileResponse(path, filename=path.name, media_type=_media_type(path))

    @app.get("/statistics", response_class=HTMLResponse)
    def statistics(request: Request, who: Who, plan: str | None = None, year: int | None = None,
                   region: str | None = None, basis: str = "accepted") -> HTMLResponse:
        ctx = views.context()
        year = _year(ctx, year)
        plans = pipeline.plans_of_year(year, ctx)
        if not plans:
            raise views.NotFound(f"{year} 年没有在期的规划")
        page = views.statistics(ctx, plan or plans[0], year, region, basis)
        return render(request, "statistics.html.j2", who, years=views.years(ctx),
                      plans=[ctx.catalog.plan(c) for c in plans],
                      basis_labels=BASIS_LABELS, **page)

    @app.get("/statistics/sources", response_class=HTMLResponse)
    def sources(request: Request, who: Who, plan: str, year: int, region: str, indicator: str,
                basis: str = "accepted") -> HTMLResponse:
        page = views.value_sources(views.context(), plan, year, region, indicator, basis)
        return render(request, "sources.html.j2", who, **page)

    @app.get("/statistics/files/{plan}/{year}/{basis}/{kind}")
    def statistics_file(who: Who, plan: str, year: int, basis: str, kind: str) -> FileResponse:
        path = files.statistics_file(views.context(), plan, year, basis, kind)
        if path is None:
            raise views.NotFound("该统计表尚未发布")
        return FileResponse(path, filename=path.name, media_type=files.STATISTICS_KINDS[kind])

    @app.get("/review", response_class=HTMLResponse)
    def review_queue(request: Request, who: Who, year: int | None = None,
                     done: str | None = None) -> HTMLResponse:
        ctx = views.context()
        year = _year(ctx, year)
        return render(request, "review.html.j2", who, year=year, years=views.years(ctx),
                      rows=views.queue(ctx, year, who.reviewer), done=done,
                      approvals=pipeline.review_approvals(year, ctx))

    @app.post("/review/region/{region_code}")
    def review_region(request: Request, who: Who, region_code: str, action: FormText,
                      year: FormYear, csrf_token: FormOptional = None,
                      comment: FormOptional = None) -> Any:
        return _decided(request, who, csrf_token, f"/review?year={year}",
                        lambda: pipeline.review_decide_region(
                            region_code, year, action, who.reviewer, comment or None,
                            views.context()),
                        f"{region_code} {review.ACTION_LABELS.get(action, action)}")

    @app.post("/review/{submission_id}")
    def review_decide(request: Request, who: Who, submission_id: str, action: FormText,
                      year: FormYear, csrf_token: FormOptional = None,
                      comment: FormOptional = None) -> Any:
        return _decided(request, who, csrf_token, f"/review?year={year}",
                        lambda: pipeline.review_decide(submission_id, action, who.reviewer,
                                                       comment or None, views.context()),
                        review.ACTION_LABELS.get(action, action))

    @app.post("/submissions/{submission_id}/flags")
    def flag(request: Request, who: Who, submission_id: str, region_code: FormText,
             indicator_code: FormText, comment: FormText,
             csrf_token: FormOptional = None) -> Any:
        return _decided(request, who, csrf_token, f"/submissions/{submission_id}",
                        lambda: pipeline.review_flag(submission_id, region_code, indicator_code,
                                                     who.reviewer, comment, views.context()),
                        f"{region_code} {indicator_code} 已标记待核实")

    @app.get("/follow-ups", response_class=HTMLResponse)
    def follow_ups(request: Request, who: Who, year: int | None = None,
                   done: str | None = None) -> HTMLResponse:
        ctx = views.context()
        year = _year(ctx, year)
        return render(request, "follow_ups.html.j2", who, year=year, years=views.years(ctx),
                      rows=views.follow_ups(ctx, year), done=done)

    @app.post("/follow-ups/{follow_up_id}/close")
    def close_follow_up(request: Request, who: Who, follow_up_id: str, year: FormYear,
                        csrf_token: FormOptional = None, comment: FormOptional = None) -> Any:
        return _decided(request, who, csrf_token, f"/follow-ups?year={year}",
                        lambda: pipeline.review_close_follow_up(
                            follow_up_id, who.reviewer, comment or None, views.context()),
                        "待核实标记已关闭")

    @app.get("/datadocs/{name:path}")
    def data_docs(request: Request, who: Who, name: str = "index.html") -> Any:
        ctx = views.context()
        if name in ("", "index.html"):
            return render(request, "datadocs.html.j2", who, **files.data_docs_pages(ctx))
        path = files.data_docs_file(ctx, name)
        if path is None:
            raise views.NotFound("没有这个数据文档页面（尚未生成，或已被清理）")
        if path.suffix == ".html":
            html = path.read_text(encoding="utf-8")
            return HTMLResponse(files.offline_data_docs(html, f"{_base(request)}/static"))
        return FileResponse(path, media_type=_media_type(path))

    @app.get("/static/{name}")
    def vendor(who: Who, name: str) -> FileResponse:
        path = files.vendor_file(name)
        if path is None:
            raise views.NotFound("没有这个文件")
        return FileResponse(path, media_type=_media_type(path))

    @app.get("/api/submissions")
    def api_submissions(who: Who, year: int) -> list[dict[str, Any]]:
        return [review.api_view(r) for r in pipeline.review_list(year, ctx=views.context())]

    @app.post("/api/submissions/{submission_id}/decisions")
    def api_decide(request: Request, who: Who, submission_id: str,
                   body: Decision) -> dict[str, Any]:
        check_same_origin(request, who, request.headers.get(CSRF_HEADER))
        ctx = views.context()
        if not ctx.warehouse.rows("report/submission_by_id", submission_id=submission_id):
            raise HTTPException(status_code=404, detail=f"没有编号为 {submission_id} 的报送。")
        try:
            after = pipeline.review_decide(submission_id, body.action, who.reviewer,
                                           body.comment, ctx)
        except review.ReviewError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        except PermissionError as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from None
        return review.api_view(after)

    return app


def _decided(request: Request, who: Visitor, token: str | None, back: str,
             decide: Callable[[], Any], done: str) -> Any:
    """Run a decision posted from a page; back to ``back`` saying what was done, or why not."""
    check_same_origin(request, who, token)
    back = f"{_base(request)}{back}"
    try:
        decide()
    except review.ReviewError as exc:
        return render(request, "message.html.j2", who, status=400, title="未能完成操作",
                      message=str(exc), login=None, back=back)
    except PermissionError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}{urlencode({'done': done})}", status_code=303)


class Decision(BaseModel):
    action: str
    comment: str | None = None


def _media_type(path: Path) -> str | None:
    import mimetypes

    kind, _ = mimetypes.guess_type(path.name)
    if kind and kind.startswith("text/"):
        return f"{kind}; charset=utf-8"
    return kind


app = create_app()

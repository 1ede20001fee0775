"""Files the workspace serves: looked up by id in the warehouse or catalog, never by a path
taken from the request; a file is served only when it lies inside its data folder with no link
on the way (``../``, absolute paths and symlinks are refused).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from planstats import pipeline
from planstats.annotate import annotated_name
from planstats.publish import statistics_paths
from planstats.rollup import BASES

STATISTICS_KINDS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    "csv": "text/csv; charset=utf-8"}


def contained(path: Path, roots: list[Path]) -> Path | None:
    """``path`` when it is a regular file under one of ``roots`` reached through no symlink."""
    absolute = Path(os.path.abspath(path))
    for root in roots:
        base = Path(os.path.abspath(root))
        try:
            relative = absolute.relative_to(base)
        except ValueError:
            continue
        if ".." in relative.parts:
            continue
        try:
            resolved = absolute.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        # any link between the data folder and the file makes these two differ
        if resolved != base.resolve() / relative or not resolved.is_file():
            return None
        return resolved
    return None


def _submission_roots(ctx: pipeline.Context) -> list[Path]:
    return [ctx.settings.archive, ctx.settings.quarantine]


def available(ctx: pipeline.Context, submission_id: str) -> dict[str, Path]:
    """The stored files of a submission that can be served: original, report, annotated."""
    rows = ctx.warehouse.rows("report/submission_by_id", submission_id=submission_id)
    if not rows:
        return {}
    row = rows[0]
    candidates: dict[str, Path] = {}
    if row["stored_path"]:
        stored = Path(row["stored_path"])
        candidates["original"] = stored
        for kind in ("xlsx", "csv"):
            marked = stored.with_name(annotated_name(stored.name, kind))
            if marked.exists():
                candidates["annotated"] = marked
    if row["report_path"]:
        candidates["report"] = Path(row["report_path"])
    roots = _submission_roots(ctx)
    return {kind: safe for kind, path in candidates.items()
            if (safe := contained(path, roots)) is not None}


def submission_file(ctx: pipeline.Context, submission_id: str, kind: str) -> Path | None:
    return available(ctx, submission_id).get(kind)


def statistics_file(ctx: pipeline.Context, plan_code: str, year: int, basis: str,
                    kind: str) -> Path | None:
    """A published statistics workbook or CSV, by plan, year, basis and kind."""
    plan = ctx.catalog.plans.get(plan_code)
    if plan is None or basis not in BASES or kind not in STATISTICS_KINDS:
        return None
    path = statistics_paths(plan, year, ctx.settings.publish / str(year), basis)[kind]
    return contained(path, [ctx.settings.publish])


def data_docs_root(ctx: pipeline.Context) -> Path:
    from planstats.gxkit import data_docs_index

    return data_docs_index(ctx.settings.gx_dir).parent


def _data_docs_files(root: Path) -> dict[str, Path]:
    """Every regular file of the docs folder by its relative name (links neither followed nor
    listed)."""
    out: dict[str, Path] = {}
    for folder, dirs, names in os.walk(root):  # followlinks=False
        here = Path(folder)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
        for found in names:
            path = here / found
            if not path.is_symlink():
                out[path.relative_to(root).as_posix()] = path
    return out


def data_docs_file(ctx: pipeline.Context, name: str) -> Path | None:
    """A Data Docs file, found among the files the docs folder holds."""
    root = data_docs_root(ctx)
    path = _data_docs_files(root).get(name) if root.is_dir() else None
    return contained(path, [root]) if path is not None else None


def data_docs_pages(ctx: pipeline.Context, limit: int = 300) -> dict[str, list[dict[str, str]]]:
    """The validation results (newest first) and expectation suites the Data Docs hold.

    GX's own index builds this list in the browser with bootstrap-table from a CDN; served here
    it is plain HTML.
    """
    from urllib.parse import unquote

    root = data_docs_root(ctx)
    names = sorted(_data_docs_files(root)) if root.is_dir() else []
    runs, suites = [], []
    for name in names:
        parts = name.removesuffix(".html").split("/")
        if name.endswith(".html") and parts[0] == "validations" and len(parts) >= 5:
            runs.append({"name": name, "suite": ".".join(parts[1:-3]),
                         "run": unquote(parts[-3]), "at": parts[-2], "batch": parts[-1]})
        elif name.endswith(".html") and parts[0] == "expectations":
            suites.append({"name": name, "suite": ".".join(parts[1:])})
    runs.sort(key=lambda r: r["at"], reverse=True)
    return {"runs": runs[:limit], "suites": suites, "total_runs": str(len(runs))}


# Data Docs load bootstrap, jQuery and more from public CDNs, which an intranet cannot reach:
# the two the pages need are served from Debian's packages when installed, the rest dropped.
VENDOR = {
    "bootstrap.min.css": Path("/usr/share/javascript/bootstrap4/css/bootstrap.min.css"),
    "bootstrap.min.js": Path("/usr/share/javascript/bootstrap4/js/bootstrap.min.js"),
    "jquery.min.js": Path("/usr/share/javascript/jquery/jquery.min.js"),
}
_CDN_TAG = re.compile(
    r"<(?:link|script)\b[^>]*?(?:href|src)=\"(https?://[^\"]+)\"[^>]*>(?:\s*</script>)?",
    re.IGNORECASE)

# GX's newsletter and tutorials banners: links out to the internet, not for reviewers
_BANNERS = re.compile(r"<footer\b[^>]*>\s*(?:<p>Stay current on everything GX"
                      r"|<h5 class=\"alert-heading).*?</footer>", re.IGNORECASE | re.DOTALL)


def vendor_file(name: str) -> Path | None:
    path = VENDOR.get(name)
    return path if path is not None and path.is_file() else None


def offline_data_docs(html: str, static_prefix: str) -> str:
    """Data Docs HTML with CDN assets pointed at local copies (or dropped) and no GX banner."""
    def local(match: re.Match[str]) -> str:
        url = match.group(1)
        name = url.rsplit("/", 1)[-1].split("?")[0]
        if "bootstrap/" in url and name in VENDOR and vendor_file(name):
            return match.group(0).replace(url, f"{static_prefix}/{name}")
        if "jquery" in name and vendor_file("jquery.min.js"):
            return match.group(0).replace(url, f"{static_prefix}/jquery.min.js")
        return ""

    return _BANNERS.sub("", _CDN_TAG.sub(local, html))

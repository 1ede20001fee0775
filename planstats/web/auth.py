"""Who is asking, from Airflow's own authentication, and what Airflow's auth manager lets them do.

Reading needs read access to the planstats DAGs, deciding needs edit access to them (and, with
PLANSTATS_REVIEWER_REGIONS, a region that covers the submission). Airflow is imported inside
the functions: the plugin module is also loaded by processes that never serve pages.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from planstats import review
from planstats.web import views

DAG_ID = "planstats_yearly"  # the DAG whose permissions stand for the whole workspace
CSRF_FIELD, CSRF_HEADER = "csrf_token", "x-csrf-token"


@dataclass(frozen=True)
class Visitor:
    """The logged-in Airflow user, as the workspace sees them."""

    name: str
    may_decide: bool
    reviewer: review.Reviewer
    by_cookie: bool  # the browser sent the credential itself, so a POST needs the CSRF token
    csrf: str


def _secret() -> bytes:
    from airflow.configuration import conf

    secret = (conf.get("api_auth", "jwt_secret", fallback="")
              or conf.get("api", "secret_key", fallback=""))
    return secret.encode() or b"planstats-workspace"


def csrf_token(username: str) -> str:
    """A per-user token a page from this server carries and a cross-site form cannot know."""
    return hmac.new(_secret(), f"planstats-csrf:{username}".encode(), hashlib.sha256).hexdigest()


async def visitor(request: Request) -> Visitor:
    """The user from the UI cookie or an ``Authorization: Bearer`` token; 401/403 otherwise."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    credentials = await bearer_scheme(request)
    user = await get_user(request, None, credentials)
    manager = get_auth_manager()
    details = DagDetails(id=DAG_ID)
    if not manager.is_authorized_dag(method="GET", details=details, user=user):
        raise HTTPException(status_code=403, detail="当前用户无权查看规划指标统计")
    may_decide = manager.is_authorized_dag(method="PUT", details=details, user=user)
    name = user.get_name()
    ctx = views.context()
    return Visitor(name=name, may_decide=may_decide,
                   reviewer=review.reviewer_scope(ctx.settings, name, may_decide),
                   by_cookie=not (credentials and credentials.scheme.lower() == "bearer"),
                   csrf=csrf_token(name))


def check_same_origin(request: Request, who: Visitor, token: str | None) -> None:
    """Refuse a cookie-authenticated POST that another site could have made the browser send."""
    if not who.by_cookie:
        return  # a bearer token is never attached by the browser on its own
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(status_code=403, detail="请求来自其他网站，已拒绝")
    if not token or not hmac.compare_digest(token, who.csrf):
        raise HTTPException(status_code=403,
                            detail="页面已过期或请求不是从本系统发出，请刷新页面后重试")

"""Reviewer decisions, layer by layer as in DHIS2, and follow-up marks on values.

The interface the CLI and the reviewer workspace (planstats/web) call. A decision always takes
a ``Reviewer`` built from an authenticated identity (``reviewer_scope``), never a typed name,
and is kept in review_event.
"""

from planstats.review.decisions import (
    approvals,
    decide,
    decide_region,
    excused,
    locked_by,
    queue,
    region_status,
)
from planstats.review.follow_ups import (
    close_follow_up,
    flag_value,
    follow_up,
    follow_ups,
    receipt_follow_ups,
)
from planstats.review.read import API_FIELDS, api_view, submission, submissions
from planstats.review.scope import Reviewer, ReviewError, cli_reviewer, reviewer_scope
from planstats.review.states import ACTION_LABELS, FOLLOW_UP_LABELS, LABELS

__all__ = [
    "ACTION_LABELS", "API_FIELDS", "FOLLOW_UP_LABELS", "LABELS", "ReviewError", "Reviewer",
    "api_view", "approvals", "cli_reviewer", "close_follow_up", "decide", "decide_region",
    "excused", "flag_value", "follow_up", "follow_ups", "locked_by", "queue",
    "receipt_follow_ups", "region_status", "reviewer_scope", "submission", "submissions",
]

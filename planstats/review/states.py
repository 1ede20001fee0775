"""The review vocabulary, defined once: actions, states of submissions, regions and marks."""

from __future__ import annotations

# decisions
APPROVE = "approve"
RETURN = "return"
REOPEN = "reopen"
NOT_REPORTING = "not_reporting"  # a region excused from reporting this year
FLAG = "flag"
CLOSE = "close"

# a submission's review_status
PENDING = "pending"
APPROVED = "approved"
RETURNED = "returned"
REOPENED = "reopened"

# what a review_event is about
SUBJECT_SUBMISSION = "submission"
SUBJECT_REGION = "region"
SUBJECT_FOLLOW_UP = "follow_up"

# a follow-up mark (待核实)
OPEN = "open"
CLOSED = "closed"  # a reviewer closed it
RESOLVED = "resolved"  # the county resubmitted that year

SUBMISSION_ACTIONS = {  # action → (review statuses it applies to, status it leaves)
    APPROVE: ((PENDING, RETURNED, REOPENED), APPROVED),
    RETURN: ((PENDING, REOPENED), RETURNED),
    REOPEN: ((APPROVED,), REOPENED),
}
REGION_ACTIONS = (APPROVE, REOPEN, NOT_REPORTING)
NEEDS_COMMENT = (RETURN, REOPEN, NOT_REPORTING, FLAG)

LABELS = {PENDING: "待审核", APPROVED: "已审核通过", RETURNED: "已退回", REOPENED: "已重新开放",
          NOT_REPORTING: "不报送"}
ACTION_LABELS = {APPROVE: "审核通过", RETURN: "退回", REOPEN: "重新开放",
                 NOT_REPORTING: "标记为不报送", FLAG: "标记待核实", CLOSE: "关闭待核实"}
FOLLOW_UP_LABELS = {OPEN: "待核实", CLOSED: "已关闭", RESOLVED: "已重新报送"}
LEVEL_LABELS = {"province": "省级", "city": "市（州）级", "county": "县（市、区）级"}

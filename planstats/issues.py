"""Problems found in a submission, each pointing at a sheet, row and column where it can."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Issue:
    severity: str
    rule: str
    message: str
    message_en: str = ""
    indicator_code: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if isinstance(out["value"], float) and out["value"].is_integer():
            out["value"] = int(out["value"])
        return out


def status_of(issues: list[Issue]) -> str:
    if any(i.severity == ERROR for i in issues):
        return "rejected"
    if any(i.severity == WARNING for i in issues):
        return "accepted_with_warnings"
    return "accepted"

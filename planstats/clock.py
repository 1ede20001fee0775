"""Time: instants are timezone-aware UTC inside; counties and reviewers read Beijing time.

The warehouse stores instants as ``timestamptz`` on PostgreSQL and as fixed-width UTC text on
SQLite (see ``warehouse.Instant``), so both compare them as times.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "北京时间")
_STORED = "%Y-%m-%dT%H:%M:%S.%f+00:00"  # SQLite text: fixed width, so text order is time order


class TimeError(ValueError):
    """A time that cannot be read."""


def now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime | str | None) -> datetime | None:
    """An instant as aware UTC; text in ISO 8601 form (as stored) is parsed, naive means UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
        except ValueError:
            raise TimeError(f"not an ISO 8601 time: {value!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def stored_text(value: datetime | str) -> str:
    """The SQLite form of an instant."""
    instant = utc(value)
    assert instant is not None
    return instant.strftime(_STORED)


def parse_instant(text: str) -> datetime:
    """What a person types for a time (CLI ``--as-of``): a date or a date and time, optionally
    with an offset (``Z``, ``+08:00``). Without an offset it is Beijing time; a bare date means
    the end of that day. Anything else is refused with the forms it accepts."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day, time.max, BEIJING).astimezone(UTC)
        moment = datetime.fromisoformat(raw.replace(" ", "T", 1))
    except ValueError:
        raise TimeError(
            f"cannot read the time {text!r}: use 2025-03-01, 2025-03-01T12:00, "
            "2025-03-01T12:00+08:00 or 2025-03-01T04:00Z (without an offset: Beijing time)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(UTC)


def beijing(value: datetime | str | None, seconds: bool = False, zone: bool = True) -> str:
    """``2026-12-02 02:20 北京时间``: how counties and reviewers read an instant (``zone``
    False where a column header already says 北京时间)."""
    instant = utc(value)
    if instant is None:
        return ""
    shown = instant.astimezone(BEIJING).strftime(
        "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{shown} 北京时间" if zone else shown

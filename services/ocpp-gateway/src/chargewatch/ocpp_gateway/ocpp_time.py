"""OCPP date-times: how we write them, and how we read a station's (no I/O, no package imports).

Kept apart from the handlers so the pure modules (meter values, session state) can use them
without importing the handler tables.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def ocpp_datetime(moment: datetime) -> str:
    """UTC with millisecond precision and a Z, the form every OCPP version accepts."""
    # isoformat, not strftime: strftime goes through the C library's time zone handling (a tzset
    # per call where TZ is unset), several times the cost, on every boot and heartbeat answer.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_ocpp_datetime(value: str | None) -> datetime | None:
    """A station's date-time (already schema-checked as RFC 3339) as an aware UTC datetime.

    A value Python cannot read (a leap second, say) yields None: the receive time stands in.
    """
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)

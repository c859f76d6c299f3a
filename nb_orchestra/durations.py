"""ISO-8601 durations as Java's ``java.time.Duration`` reads and prints them.

Kestra parses ``timeout``, ``retry.interval``, ``Sleep.duration``... with
``Duration.parse``: days, hours, minutes and (fractional) seconds only; no
years, months or weeks (``P1M`` is an error, unlike isodate).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .errors import UserError

_DURATION = re.compile(
    r"""^(?P<sign>[-+]?)P
        (?:(?P<days>[-+]?\d+)D)?
        (?:T
            (?:(?P<hours>[-+]?\d+)H)?
            (?:(?P<minutes>[-+]?\d+)M)?
            (?:(?P<seconds>[-+]?\d+(?:[.,]\d{0,9})?)S)?
        )?$""",
    re.IGNORECASE | re.VERBOSE,
)


def parse_duration(text: str) -> timedelta:
    """``PT1M30S`` -> ``timedelta(seconds=90)``; raises ValueError with a short message."""
    if isinstance(text, timedelta):
        return text
    match = _DURATION.match(str(text).strip())
    if not match or str(text).strip().upper().endswith("T") or str(text).strip().upper() in ("P", "-P", "+P"):
        raise ValueError(f"'{text}' is not an ISO-8601 duration such as PT30S, PT5M or P1DT2H")
    parts = {k: v for k, v in match.groupdict().items() if k != "sign"}
    try:
        delta = timedelta(
            days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0),
            minutes=int(parts["minutes"] or 0),
            seconds=float((parts["seconds"] or "0").replace(",", ".")),
        )
    except OverflowError:
        raise ValueError(f"'{text}' is longer than the longest duration this supports "
                         f"({timedelta.max.days} days)") from None
    return -delta if match.group("sign") == "-" else delta


def format_duration(delta: timedelta) -> str:
    """``timedelta(minutes=5, seconds=6)`` -> ``PT5M6S``, as ``Duration.toString()`` prints it."""
    total = delta.total_seconds()
    if total == 0:
        return "PT0S"
    sign = "-" if total < 0 else ""
    micros = abs(round(total * 1_000_000))
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    out = "PT"
    if hours:
        out += f"{sign}{hours}H"
    if minutes:
        out += f"{sign}{minutes}M"
    if seconds or fraction:
        frac = f".{fraction:06d}".rstrip("0") if fraction else ""
        out += f"{sign}{seconds}{frac}S"
    return out


_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$", re.IGNORECASE)
_AGE_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """A span written for people (``30d``, ``12h``, ``15m``, ``2w``) or as ISO-8601 (``P30D``)."""
    match = _AGE.match(str(text).strip())
    if match:
        return timedelta(**{_AGE_UNITS[match.group(2).lower()]: float(match.group(1))})
    try:
        return parse_duration(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a span such as 30d, 12h, 15m or P30D") from None


def parse_since(text: str | None) -> datetime | None:
    """``2019-01-01``, ``2019-01-01T09:00`` (UTC unless a zone is given), or an age such as ``2h``, ``7d``."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except ValueError:
        pass
    try:
        return datetime.now(timezone.utc) - parse_age(text)
    except ValueError:
        raise UserError(f"'{text}' is neither a date (2019-01-01) nor an age (2h, 7d)") from None

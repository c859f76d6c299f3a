"""KV values: keys, Kestra's value types, how values are encoded at rest, and what a KV store does.

The entries themselves live in the execution store (``nb_orchestra.store.kv``
implements :class:`KVStore`), so a value set by one flow is read by another, also
in a later process. Each entry keeps its Kestra type (STRING, NUMBER, BOOLEAN,
DATETIME, DATE, DURATION, JSON) so dates and durations come back as dates and
durations.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol

from .durations import format_duration, parse_duration
from .errors import KVStoreError

KV_TYPES = ("STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON")

# Kestra's KVStore.KEY_VALIDATOR_PATTERN.
_KEY = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")
# Kestra reads back a stored string that looks like a duration as a Duration (InternalKVStore).
_DURATION_TEXT = re.compile(r"^P(?=[^T]|T.)(?:\d*D)?(?:T(?=.)(?:\d*H)?(?:\d*M)?(?:\d*S)?)?$")


class KVStore(Protocol):
    """KV entries of every namespace."""

    def get(self, namespace: str, key: str, expired_error: bool = False) -> tuple[bool, Any]:
        """(found, value); an expired entry counts as missing, or raises KVExpiredError when asked."""

    def get_inherited(self, namespace: str, key: str) -> tuple[bool, Any]:
        """The namespace, then each parent in turn."""

    def set(self, namespace: str, key: str, value: Any, expires: datetime | None = None,
            overwrite: bool = True) -> None: ...

    def delete(self, namespace: str, key: str) -> bool: ...

    def keys(self, namespace: str, prefix: str = "") -> list[str]: ...

    def entries(self, namespace: str) -> list[tuple[str, datetime | None]]:
        """Every key, expired ones included, with its expiry (None: never)."""

    def namespaces(self) -> list[str]:
        """The namespaces that hold entries."""


class NamespaceKV:
    """The KV entries of one namespace (Kestra's ``RunContext.namespaceKv(namespace)``)."""

    __slots__ = ("store", "namespace")

    def __init__(self, store: KVStore, namespace: str):
        self.store = store
        self.namespace = namespace

    def get(self, key: str, expired_error: bool = False) -> tuple[bool, Any]:
        return self.store.get(self.namespace, key, expired_error)

    def set(self, key: str, value: Any, expires: datetime | None = None, overwrite: bool = True) -> None:
        self.store.set(self.namespace, key, value, expires, overwrite)

    def delete(self, key: str) -> bool:
        return self.store.delete(self.namespace, key)

    def keys(self, prefix: str = "") -> list[str]:
        return self.store.keys(self.namespace, prefix)

    def entries(self) -> list[tuple[str, datetime | None]]:
        """Every key, expired ones included, with its expiry (None: never)."""
        return self.store.entries(self.namespace)


def validate_key(key: str) -> None:
    """Kestra's key rule: starts alphanumeric, then alphanumerics, dots, underscores, hyphens."""
    if not key:
        raise KVStoreError("Key cannot be null or empty")
    if not _KEY.fullmatch(key):
        raise KVStoreError("Key must start with an alphanumeric character (uppercase or lowercase) and can "
                           "contain alphanumeric characters (uppercase or lowercase), dots (.), "
                           "underscores (_), and hyphens (-) only.")


def kv_type_of(value: Any) -> str:
    """The Kestra KV type of a Python value (KVType.from)."""
    if value is None or isinstance(value, str):
        return "STRING"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, (int, float, Decimal)):
        return "NUMBER"
    if isinstance(value, datetime):
        return "DATETIME"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, timedelta):
        return "DURATION"
    return "JSON"


def convert(text: str, kv_type: str) -> Any:
    """A string value as the ``kvType`` of the Set task asks (Kestra's conversions).

    NUMBER: a JSON number; BOOLEAN: true only for "true" (any case); DATETIME and
    DATE: an ISO-8601 instant (``Instant.parse``: date, time and zone); DURATION:
    ISO-8601 (``Duration.parse``); JSON: any JSON text; STRING: unchanged.
    """
    kind = kv_type.upper()
    if kind not in KV_TYPES:
        raise KVStoreError(f"kvType must be one of {', '.join(KV_TYPES)}, got '{kv_type}'")
    if kind == "NUMBER":
        try:
            number = json.loads(text)
        except json.JSONDecodeError:
            number = None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise KVStoreError(f"kvType NUMBER: '{text}' is not a number")
        return number
    if kind == "BOOLEAN":
        return text.lower() == "true"
    if kind in ("DATETIME", "DATE"):
        return _instant(text, kind)
    if kind == "DURATION":
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise KVStoreError(f"kvType DURATION: {exc}") from None
    if kind == "JSON":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise KVStoreError(f"kvType JSON: '{text}' is not valid JSON ({exc.msg})") from None
    return text


def _instant(text: str, kind: str) -> datetime:
    """``Instant.parse``: a date, a time and a zone (``Z`` or an offset); returned in UTC."""
    candidate = text.strip()
    try:
        if "T" not in candidate.upper():
            raise ValueError
        parsed = datetime.fromisoformat(candidate[:-1] + "+00:00" if candidate[-1:] in "zZ" else candidate)
        if parsed.tzinfo is None:
            raise ValueError
    except ValueError:
        raise KVStoreError(f"kvType {kind}: '{text}' is not an instant such as 2024-01-31T10:00:00Z") from None
    return parsed.astimezone(timezone.utc)


def _encode(value: Any) -> tuple[str, Any]:
    """(type, JSON-serialisable value) of a value to store."""
    kind = kv_type_of(value)
    if kind in ("DATETIME", "DATE"):
        return kind, value.isoformat()
    if kind == "DURATION":
        return kind, format_duration(value)
    if isinstance(value, Decimal):
        return kind, float(value)
    return kind, value


def _decode(entry: dict[str, Any]) -> Any:
    """A stored value back to its type."""
    kind, value = entry.get("type"), entry["value"]
    if kind in ("DATETIME", "DATE"):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if kind == "DURATION" or (kind == "STRING" and isinstance(value, str) and _DURATION_TEXT.match(value)):
        return parse_duration(value)
    return value


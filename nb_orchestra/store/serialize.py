"""Values at rest: JSON text with type tags; files for objects JSON cannot hold; secrets masked.

JSON-able values are stored as they are. Dates, times, durations, Decimals
and paths become small tagged objects (``{"$nbo": "datetime", "value": ...}``)
so they come back typed. Any other object is written to a file in the
execution's storage folder: a pandas DataFrame as Parquet when pyarrow is
installed, anything else picklable as a pickle (with a note); the JSON holds
a marker ``{"$nbo": "file", "format": ..., "path": ...}`` (path relative to
the home folder). What can be neither becomes ``{"$nbo": "repr", "text": ...}``.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any

from ..secrets import mask

TAG = "$nbo"
REPR_LIMIT = 1000
PICKLE_NOTE = "pickled Python object: load it only from a store you trust"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_PLAIN = frozenset({bool, int, float})
_to_json = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as every store can keep it: PostgreSQL refuses NUL characters and UTF-8 has no lone
    surrogates. They become visible stand-ins (\u2400 for NUL, \ufffd for a surrogate); JSON text
    escapes surrogates itself (see ``Encoder.dumps``) and so reads back unchanged."""
    if text.isascii():
        return text.replace("\x00", "\u2400") if "\x00" in text else text
    return _UNSTORABLE.sub(lambda m: "\u2400" if m.group() == "\x00" else "\ufffd", text)


def json_text(value: Any) -> str:
    """JSON text of a value JSON holds as it is (see :func:`native`), storable as UTF-8: a lone
    surrogate cannot be encoded, so it is written as a JSON escape (and reads back the same)."""
    text = _to_json(value)
    return text if text.isascii() else _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def native(value: Any) -> bool:
    """True when JSON holds ``value`` as it is: str, int, float, bool and None, in lists and in dicts
    keyed by text (not the type tag); what ``Encoder.encode`` would give back unchanged."""
    kind = type(value)
    if kind is str or kind in _PLAIN or value is None:
        return True
    # Loops, not all() over generators: this runs for the outputs of every task run recorded.
    if isinstance(value, dict):  # AttrDict too: JSON writes a dict subclass as a dict
        if TAG in value:
            return False
        # dict.items: an AttrDict's own attribute look-up is slower, and a key may be named "items"
        for key, item in dict.items(value):
            if type(key) is not str or (type(item) is not str and not native(item)):
                return False
        return True
    if kind is list:
        for item in value:
            if type(item) is not str and not native(item):
                return False
        return True
    return False


class Encoder:
    """Turns one value tree into JSON text; files go below ``folder`` (relative paths from ``home``)."""

    def __init__(self, secrets: Iterable[str] = (), home: Path | None = None, folder: Path | None = None):
        self.secrets = [s for s in secrets if s]
        self.home = home
        self.folder = folder

    def dumps(self, value: Any, where: tuple[str, ...] = ()) -> str | None:
        """JSON text of ``value``; None stays None (a NULL column). ``where`` names its files."""
        if value is None:
            return None
        # JSON's own values with nothing to mask or tag (most outputs, every path): the C encoder alone
        return json_text(value if not self.secrets and native(value) else self.encode(value, where))

    def encode(self, value: Any, where: tuple[str, ...] = ()) -> Any:
        kind = type(value)
        if kind is str:
            return self.mask(value) if self.secrets else value
        if value is None or kind in _PLAIN:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value) and TAG not in value:
                return {self.mask(k): self.encode(v, (*where, k)) for k, v in value.items()}
            return {TAG: "dict", "items": [[self.encode(k), self.encode(v, (*where, str(k)))]
                                           for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return [self.encode(v, (*where, str(i))) for i, v in enumerate(value)]
        if isinstance(value, datetime):
            return {TAG: "datetime", "value": value.isoformat()}
        if isinstance(value, date):
            return {TAG: "date", "value": value.isoformat()}
        if isinstance(value, time):
            return {TAG: "time", "value": value.isoformat()}
        if isinstance(value, timedelta):
            return {TAG: "timedelta", "seconds": value.total_seconds()}
        if isinstance(value, Decimal):
            return {TAG: "decimal", "value": str(value)}
        if isinstance(value, PurePath):
            return {TAG: "path", "value": self.mask(str(value))}
        if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
            return self.encode(value.item(), where)  # a numpy scalar: its Python value
        return self._to_file(value, where)

    def mask(self, text: str) -> str:
        return mask(text, self.secrets) if self.secrets else text

    def _to_file(self, value: Any, where: tuple[str, ...]) -> dict[str, Any]:
        """A file marker for ``value``, or a repr marker when it can't (or mustn't) be written."""
        if self.folder is None or self.home is None:
            return self._repr(value)
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        name = _UNSAFE_NAME.sub("_", "-".join(where)) or "value"
        data = b""
        if kind != "pandas.DataFrame" or self.secrets or not _has_pyarrow():
            try:
                data = pickle.dumps(value)
            except Exception:  # unpicklable: locks, generators, open files, lambdas...
                return self._repr(value)
            if any(secret.encode() in data for secret in self.secrets):
                return {**self._repr(value), "note": "held a secret: not stored"}
        self.folder.mkdir(parents=True, exist_ok=True)
        if kind == "pandas.DataFrame" and _has_pyarrow():
            path = self.folder / f"{name}.parquet"
            try:
                value.to_parquet(path)
                return {TAG: "file", "format": "parquet", "path": self._relative(path), "type": kind}
            except Exception:  # columns Arrow cannot type: fall back to a pickle
                path.unlink(missing_ok=True)
                try:
                    data = data or pickle.dumps(value)
                except Exception:
                    return self._repr(value)
        path = self.folder / f"{name}.pickle"
        path.write_bytes(data)
        return {TAG: "file", "format": "pickle", "path": self._relative(path), "type": kind, "note": PICKLE_NOTE}

    def _relative(self, path: Path) -> str:
        assert self.home is not None  # _to_file writes files only with a home
        return path.relative_to(self.home).as_posix()

    def _repr(self, value: Any) -> dict[str, Any]:
        try:
            text = repr(value)
        except Exception as exc:  # a broken __repr__
            text = f"<{type(value).__qualname__}: repr failed: {exc!r}>"
        return {TAG: "repr", "text": self.mask(text[:REPR_LIMIT])}


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def loads(text: str | None, home: Path | None = None) -> Any:
    """A stored value back, typed; files are read from below ``home`` (a missing one keeps its marker)."""
    if text is None:
        return None
    return json.loads(text, object_hook=lambda obj: _decode(obj, home) if TAG in obj else obj)


def _decode(obj: dict[str, Any], home: Path | None) -> Any:
    kind = obj[TAG]
    if kind == "datetime":
        return datetime.fromisoformat(obj["value"])
    if kind == "date":
        return date.fromisoformat(obj["value"])
    if kind == "time":
        return time.fromisoformat(obj["value"])
    if kind == "timedelta":
        return timedelta(seconds=obj["seconds"])
    if kind == "decimal":
        return Decimal(obj["value"])
    if kind == "path":
        return Path(obj["value"])
    if kind == "dict":
        return {_hashable(k): v for k, v in obj["items"]}
    if kind == "file" and home is not None:
        return _read_file(obj, home / obj["path"])
    return obj  # repr markers, and files without a home to read them from


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _read_file(marker: dict[str, Any], path: Path) -> Any:
    if not path.is_file():
        return marker
    if marker["format"] == "parquet":
        import pandas

        return pandas.read_parquet(path)
    with path.open("rb") as handle:
        return pickle.load(handle)

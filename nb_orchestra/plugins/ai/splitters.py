"""Kestra's ``documentSplitter``: documents cut into segments of at most ``maxSegmentSizeInChars``.

As langchain4j's splitters: text is cut at its natural boundaries (paragraphs, lines, sentences, words),
as many pieces as fit are packed into one segment, and a segment starts with the last pieces of the one
before, up to ``maxOverlapSizeInChars``. A piece too long for a segment is cut at the next finer
boundary (RECURSIVE goes paragraphs -> lines -> sentences -> words -> characters). Without a splitter a
document is one segment, as Kestra's ingestor leaves it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..base import TaskFailure

# Boundary patterns and the text that joins two pieces again, finest last.
_LEVELS = {
    "PARAGRAPH": (re.compile(r"\s*\n\s*\n\s*"), "\n\n"),
    "LINE": (re.compile(r"\s*\n\s*"), "\n"),
    "SENTENCE": (re.compile(r"(?<=[.!?])\s+"), " "),
    "WORD": (re.compile(r"\s+"), " "),
}
_ORDER = ("PARAGRAPH", "LINE", "SENTENCE", "WORD")
TYPES = ("RECURSIVE", *_ORDER)


@dataclass(frozen=True)
class Splitter:
    kind: str
    max_size: int
    overlap: int

    def split(self, text: str) -> list[str]:
        start = "PARAGRAPH" if self.kind == "RECURSIVE" else self.kind
        return [segment for segment in self._split(text.strip(), _ORDER.index(start)) if segment.strip()]

    def _split(self, text: str, level: int) -> list[str]:
        if len(text) <= self.max_size:
            return [text]
        if level >= len(_ORDER):  # no boundary left: plain characters
            step = max(1, self.max_size - self.overlap)
            return [text[i:i + self.max_size] for i in range(0, len(text), step)]
        pattern, joiner = _LEVELS[_ORDER[level]]
        pieces: list[str] = []
        for piece in pattern.split(text):
            pieces.extend([piece] if len(piece) <= self.max_size else self._split(piece, level + 1))
        return self._pack([p for p in pieces if p], joiner)

    def _pack(self, pieces: list[str], joiner: str) -> list[str]:
        segments: list[str] = []
        current: list[str] = []
        for piece in pieces:
            if current and len(joiner.join([*current, piece])) > self.max_size:
                segments.append(joiner.join(current))
                current = self._overlap(current, joiner, piece)
            current.append(piece)
        if current:
            segments.append(joiner.join(current))
        return segments

    def _overlap(self, previous: list[str], joiner: str, following: str) -> list[str]:
        """The last pieces of ``previous`` that fit in the overlap and leave room for ``following``."""
        kept: list[str] = []
        for piece in reversed(previous):
            candidate = [piece, *kept]
            if (len(joiner.join(candidate)) > self.overlap
                    or len(joiner.join([*candidate, following])) > self.max_size):
                break
            kept = candidate
        return kept


def read_splitter(raw: Any) -> Splitter | None:
    """``documentSplitter`` (rendered) as a Splitter; None when absent."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise TaskFailure("property 'documentSplitter' must be a map")
    kind = str(raw.get("splitter") or "RECURSIVE").upper()
    if kind not in TYPES:
        raise TaskFailure(f"documentSplitter.splitter must be one of {', '.join(TYPES)}, not '{kind}'")
    sizes = []
    for key in ("maxSegmentSizeInChars", "maxOverlapSizeInChars"):
        try:
            sizes.append(int(raw[key]))
        except (KeyError, TypeError, ValueError):
            raise TaskFailure(f"documentSplitter.{key} is required: a number of characters") from None
    if sizes[0] < 1 or not 0 <= sizes[1] < sizes[0]:
        raise TaskFailure("documentSplitter: maxSegmentSizeInChars must be positive and larger than "
                          "maxOverlapSizeInChars (which cannot be negative)")
    return Splitter(kind, sizes[0], sizes[1])

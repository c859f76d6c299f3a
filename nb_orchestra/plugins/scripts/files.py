"""Files around a script run: inputFiles, namespace files, kestra:// URIs in
the script text, and outputFiles matched with Java PathMatcher globs."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ... import internal_storage
from ..base import TaskFailure
from ..files import stored_file

# Kestra's ScriptService.INTERNAL_STORAGE_PATTERN.
_URI = re.compile(r"kestra://[-\w.+~#=/]*")


def copy_namespace_files(config: dict[str, Any], work: Path, namespace: str) -> int:
    """Copy the namespace's files (``include``/``exclude`` globs) into ``work``; returns the count.

    Only the flow's own namespace folder is read (``namespaces`` and
    ``folderPerNamespace`` are accepted and ignored). ``ifExists``: OVERWRITE
    (default), SKIP/IGNORE, WARN, FAIL.
    """
    root = internal_storage.namespace_files_dir(namespace)
    if not root.is_dir():
        return 0
    include, exclude = _as_list(config.get("include")), _as_list(config.get("exclude"))
    included, excluded = path_matcher(include), path_matcher(exclude)
    if_exists = str(config.get("ifExists") or "OVERWRITE").upper()
    count = 0
    for relative in _walk(root):
        if (include and not included("/" + relative)) or (exclude and excluded("/" + relative)):
            continue
        target = work / relative
        if target.exists() and if_exists != "OVERWRITE":
            if if_exists == "FAIL":
                raise TaskFailure(f"namespace file '{relative}' already exists in the working directory")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, target)
        count += 1
    return count


class Localizer:
    """Replaces ``kestra://`` URIs in rendered text by local copies in the working dir
    (Kestra's ScriptService.replaceInternalStorage); one copy per distinct URI."""

    def __init__(self, work: Path, namespace: str):
        self.work = work
        self.namespace = namespace
        self._copies: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        return _URI.sub(lambda m: self._local(m.group(0)), text)

    def _local(self, uri: str) -> str:
        if uri not in self._copies:
            source = stored_file(uri, namespace=self.namespace)
            fd, name = tempfile.mkstemp(suffix=source.suffix, dir=self.work)
            os.close(fd)
            shutil.copyfile(source, name)
            self._copies[uri] = name.replace("\\", "/")
        return self._copies[uri]


def collect_output_files(patterns: list[str], work: Path, target_dir: Path) -> dict[str, str]:
    """Files of ``work`` matching ``patterns`` stored in ``target_dir``: relative path -> kestra:/// URI.

    Plain patterns are globs anchored at the working directory; ``glob:`` and
    ``regex:`` patterns match the absolute path, as in Kestra.
    """
    return {relative: internal_storage.put_file(work / relative, target_dir, _stored_name(relative))
            for relative in matching_files(patterns, work)}


def matching_files(patterns: list[str], work: Path) -> list[str]:
    """The relative paths of the files of ``work`` that ``patterns`` match (Kestra's
    ``WorkingDir.findAllFilesMatching``): plain globs anchored at ``work``, ``glob:`` and ``regex:``
    patterns matching the absolute path."""
    base = work.resolve().as_posix()
    matchers = []
    for pattern in patterns:
        if pattern.startswith("regex:"):
            matchers.append(re.compile(pattern[len("regex:"):]))
        elif pattern.startswith("glob:"):
            matchers.append(glob_regex(pattern[len("glob:"):]))
        else:
            matchers.append(re.compile(re.escape(base) + "/" + glob_regex(pattern).pattern))
    return [relative for relative in _walk(work) if any(m.fullmatch(f"{base}/{relative}") for m in matchers)]


def _stored_name(relative: str) -> str:
    """A unique, URI-safe file name for an output file (Kestra prefixes an id too)."""
    digest = hashlib.sha1(relative.encode("utf-8")).hexdigest()[:8]
    return f"{digest}-" + re.sub(r"[^-\w.+~#=]", "_", relative.rsplit("/", 1)[-1])


def path_matcher(patterns: list[str]) -> Callable[[str], bool]:
    """Kestra's ``PathMatcherPredicate.matches(patterns)`` on namespace file paths such as ``/a/b.txt``:
    ``glob:``/``regex:`` patterns as they are, a plain glob starting with a word character matching in
    any folder (``**/`` before it), any other plain glob from the root (``/ignore/**``)."""
    compiled: list[re.Pattern[str]] = []
    for pattern in patterns:
        if pattern.startswith("regex:"):
            compiled.append(re.compile(pattern[len("regex:"):]))
            continue
        glob = pattern[len("glob:"):] if pattern.startswith("glob:") else pattern
        if not pattern.startswith("glob:") and re.match(r"\w", pattern):
            glob = "**/" + glob
        compiled.append(glob_regex(glob.replace("\\", "/")))
    return lambda path: any(p.fullmatch(path) for p in compiled)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A Java PathMatcher glob as a regex: ``*``/``?``/``[..]`` stay within one folder,
    ``**`` crosses folders, ``{a,b}`` alternates, ``\\`` escapes."""
    out: list[str] = []
    i, group = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            double = pattern.startswith("**", i)
            out.append(".*" if double else "[^/]*")
            i += 2 if double else 1
            continue
        if c == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                raise TaskFailure(f"glob '{pattern}': missing ']'")
            out.append(_bracket(pattern[i + 1:end]))
            i = end + 1
            continue
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "?":
            out.append("[^/]")
        elif c == "{" and not group:
            out.append("(?:")
            group = True
        elif c == "}" and group:
            out.append(")")
            group = False
        elif c == "," and group:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def _bracket(body: str) -> str:
    negate = body.startswith("!")
    chars = "".join(ch if ch == "-" else re.escape(ch) for ch in body[negate:])
    return f"[^/{chars}]" if negate else f"[{chars}]"


def _walk(root: Path) -> Iterable[str]:
    """Relative POSIX paths of the regular files below ``root``, sorted."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_file():
                yield path.relative_to(root).as_posix()


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]

"""Where a TOML file says what: every problem of kefu.toml, a pay scheme or the QC rule library is named by
file and line (`presales.toml:14: components[2].kpis[1].best: …`), by this one locator.

`tomllib` gives values without positions, and pydantic reports a key path
such as `components.2.kpis.0.best`. `key_lines` walks the text once and maps
every key path it can see (tables, arrays of tables, keys, dotted keys and the
inline tables of a multi-line array) to the line that defines it; the lines of a
multi-line string are text, never keys. It is a locator for error messages only;
the values always come from `tomllib` (`load`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from typing import Any

Path = tuple[str | int, ...]


def load(text: str, source: str, error: Callable[[list[str]], Exception], **options: Any) -> dict[str, Any]:
    """`tomllib.loads(text)`; a syntax error raises `error([f"{source}:{line}: not valid TOML: {reason}"])`."""
    try:
        return tomllib.loads(text, **options)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise error([f"{source}:{line.group(1) if line else 1}: not valid TOML: {exc}"]) from None


def where(source: str, lines: dict[Path, int], path: Path) -> str:
    """`source:line` of the longest prefix of `path` the text defines (`source` alone when none is)."""
    line = line_of(lines, path)
    return f"{source}:{line}" if line else source


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r'^\s*((?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|\'[^\']*\'|[A-Za-z0-9_-]+))*)\s*=\s*(.*)$'
)
_INLINE_KEY = re.compile(r'(?:^|[{,])\s*("[^"]*"|[A-Za-z0-9_-]+)\s*=')


def _parts(dotted: str) -> list[str]:
    return [p.strip().strip("\"'") for p in re.findall(r'"[^"]*"|\'[^\']*\'|[^.]+', dotted)]


def key_lines(text: str) -> dict[Path, int]:
    """Key path -> 1-based line number, for every key the text defines."""
    lines: dict[Path, int] = {}
    counts: dict[Path, int] = {}  # array-of-tables path -> elements so far
    table: Path = ()
    array_key: Path | None = None  # a multi-line array value being read
    depth = element = 0
    string_end: str | None = None  # the closing quotes of a multi-line string being read
    for number, raw in enumerate(text.splitlines(), start=1):
        if string_end is not None:
            string_end = None if raw.count(string_end) % 2 else string_end
            continue
        line = _strip_comment(raw)
        if array_key is not None:
            element, depth = _scan_array(line, array_key, element, depth, number, lines)
            if depth <= 0:
                array_key = None
            continue
        header = _HEADER.match(line)
        if header:
            parts = _parts(header.group(2))
            if header.group(1) == "[[":
                table = _resolve(parts[:-1], counts) + (parts[-1],)
                counts[table] = counts.get(table, -1) + 1
                for key in [k for k in counts if k[: len(table)] == table and len(k) > len(table)]:
                    del counts[key]  # a new element starts its nested arrays afresh
                table = table + (counts[table],)
            else:
                table = _resolve(parts, counts)
            lines.setdefault(table, number)
            continue
        found = _KEY.match(line)
        if not found:
            continue
        path = table + tuple(_parts(found.group(1)))
        for i in range(len(table) + 1, len(path) + 1):
            lines.setdefault(path[:i], number)
        value = found.group(2).strip()
        if value[:3] in ('"""', "'''") and value.count(value[:3]) == 1:
            string_end = value[:3]
        elif value.startswith("["):
            element, depth = _scan_array(value, path, 0, 0, number, lines)
            if depth > 0:
                array_key = path
        elif value.startswith("{"):
            for key in _INLINE_KEY.findall(value):
                lines.setdefault(path + (key.strip('"'),), number)
    return lines


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of the longest prefix of `path` the text defines."""
    for i in range(len(path), 0, -1):
        if path[:i] in lines:
            return lines[path[:i]]
    return None


def _resolve(parts: list[str], counts: dict[Path, int]) -> Path:
    """A dotted table name with each array-of-tables segment replaced by its latest element."""
    path: Path = ()
    for part in parts:
        path = path + (part,)
        if path in counts:
            path = path + (counts[path],)
    return path


def _scan_array(text: str, key: Path, element: int, depth: int, number: int, lines: dict[Path, int]) -> tuple[int, int]:
    """Track brackets of an array value; each inline table at depth 1 is the next element
    (scalar elements are not located: an error in one points at the array's line)."""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            end = text.find(ch, i + 1)
            i = len(text) if end < 0 else end + 1
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "{" and depth == 1:
            lines.setdefault(key + (element,), number)
            close = text.find("}", i)
            for inner in _INLINE_KEY.findall(text[i : close if close > 0 else len(text)]):
                lines.setdefault(key + (element, inner.strip('"')), number)
            element += 1
        i += 1
    return element, depth


def _strip_comment(line: str) -> str:
    out, quote = [], None
    for ch in line:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        out.append(ch)
    return "".join(out)

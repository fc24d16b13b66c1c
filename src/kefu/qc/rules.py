"""The QC rule library (质检规则库): one TOML file per workspace, validated before use.

A workspace's `qc-rules.toml` replaces the shipped default library
(`kefu/qc/default_rules.toml`) as a whole. Every rule is declared once here
and read by the engine, the CLI, the web editor and docs/qc.md.

Patterns are regular expressions in the portable subset of RE2 (DuckDB) and
Java (Spark): no look-around, no back-references, no named groups. They are
checked by compiling them with RE2 and must not match the empty text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from kefu.errors import KefuError
from kefu.qc.store import SCOPES, SEVERITIES
from kefu.tomlpos import key_lines, load, where

RULES_FILE = "qc-rules.toml"
DEFAULT_RULES = Path(__file__).with_name("default_rules.toml")

#: What a rule looks for. `phrase`: a pattern in a message (the default);
#: `missing_at_start` / `missing_at_end`: the first / last agent message of a
#: dialogue (agent × buyer × day) has none of the patterns; the timing kinds
#: read the engine's questions (kefu.metrics.dialogue).
TEXT_KINDS = ("phrase", "missing_at_start", "missing_at_end")
TIMING_KINDS = ("slow_reply", "unanswered", "long_silence")
KINDS = TEXT_KINDS + TIMING_KINDS
CHECKSUMS = ("luhn", "gb11643")

#: Keys a rule may have, with their help (docs/qc.md is checked against this table).
RULE_KEYS: dict[str, str] = {
    "id": "unique id: lower-case letters, digits and _ (findings keep it; do not rename a rule in use)",
    "name": "名称 shown to reviewers and agents",
    "name_en": "English name (optional)",
    "description": "what the rule is for and why (optional)",
    "severity": "low, medium, high or critical (the review queue shows the worst first)",
    "scope": "agent_text, buyer_text or timing",
    "kind": "phrase (default), missing_at_start, missing_at_end, slow_reply, unanswered or long_silence",
    "points": "points one finding deducts, of the 5 at stake in each dialogue inspected (QC-D10; a timing finding of a dialogue counts once, whatever its count; 0: a signal for review only)",
    "max_points_per_day": "the most this rule deducts from one agent-day, however many findings (optional; default no limit; the default library sets none, QC-D10)",
    "patterns": "regular expressions; a phrase rule flags a message containing one, a missing_* rule a message containing none",
    "exceptions": "regular expressions; text matched by an exception is skipped (phrase rules), a question whose buyer messages all match one is exempt (timing rules)",
    "ignore_case": "match letters regardless of case (default true)",
    "checksum": "luhn or gb11643: flag only numbers whose check digit is right (phrase rules)",
    "span": "regular expression narrowing the reported match inside a pattern's match, e.g. the digits without their boundaries",
    "skip_order_ids": "a matched number equal to an order_id of the shop is the buyer's order, not personal data (default false)",
    "threshold_s": "seconds: slow_reply (default kefu.toml slow_threshold_s), long_silence (default 600)",
    "enabled": "false switches the rule off (default true)",
    "hits": "example texts the rule must flag (checked by `kefu qc rules --check` and the tests)",
    "misses": "near-miss example texts the rule must not flag",
}
REQUIRED_KEYS = ("id", "name", "severity", "scope", "points")
LONG_SILENCE_DEFAULT_S = 600


class RuleError(KefuError):
    """The rule library is wrong; `problems` lists every problem as 'file:line: rule id: reason'."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str
    scope: str
    points: float
    kind: str = "phrase"
    max_points_per_day: float | None = None
    patterns: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    name_en: str = ""
    description: str = ""
    ignore_case: bool = True
    checksum: str | None = None
    span: str | None = None
    skip_order_ids: bool = False
    threshold_s: int | None = None
    enabled: bool = True
    hits: tuple[str, ...] = ()
    misses: tuple[str, ...] = ()
    line: int = 0  # where the rule starts in its file

    @property
    def is_timing(self) -> bool:
        return self.kind in TIMING_KINDS

    @property
    def pattern(self) -> str:
        """All patterns as one regular expression (empty for timing rules)."""
        return _alternation(self.patterns, self.ignore_case)

    @property
    def exception(self) -> str:
        return _alternation(self.exceptions, self.ignore_case)

    @property
    def span_pattern(self) -> str | None:
        return _alternation((self.span,), self.ignore_case) if self.span else None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    source: str = RULES_FILE
    text: str = ""

    @cached_property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)

    def get(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def of_kind(self, *kinds: str, scope: str | None = None) -> tuple[Rule, ...]:
        return tuple(r for r in self.enabled if r.kind in kinds and (scope is None or r.scope == scope))


def _alternation(patterns: tuple[str, ...], ignore_case: bool) -> str:
    if not patterns:
        return ""
    body = "|".join(f"(?:{p})" for p in patterns)
    return f"(?i:{body})" if ignore_case else f"(?:{body})"


# -- reading and writing -------------------------------------------------------------------------


def default_rules_text() -> str:
    """The shipped default library (kefu/qc/default_rules.toml)."""
    return DEFAULT_RULES.read_text(encoding="utf-8")


def load_rules(ws: Any) -> RuleSet:
    """The workspace's `qc-rules.toml`, else the default library."""
    path = Path(ws.path) / RULES_FILE if getattr(ws, "path", None) else None
    if path is not None and path.exists():
        return parse_rules(path.read_text(encoding="utf-8"), str(path))
    return parse_rules(default_rules_text(), "kefu/qc/default_rules.toml")


def parse_rules(text: str, source: str = RULES_FILE) -> RuleSet:
    """Parse and validate a rule library; raises RuleError listing every problem (file, line, rule id, reason)."""
    data = load(text, source, RuleError)
    problems: list[str] = []
    unknown_top = sorted(set(data) - {"rules", "version"})
    if unknown_top:
        problems.append(f"{source}:1: unknown top-level key(s) {', '.join(unknown_top)} (rules are [[rules]] tables)")
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append(f"{source}:1: no rules: declare each rule as a [[rules]] table")
        raise RuleError(problems)
    lines = key_lines(text)
    rules: list[Rule] = []
    seen: dict[str, int] = {}  # rule id -> its line
    for i, raw in enumerate(raw_rules):
        start = lines.get(("rules", i), 1)
        rule_id = raw.get("id") if isinstance(raw.get("id"), str) else f"#{i + 1}"

        def report(key: str | None, reason: str, rule_id=rule_id, i=i) -> None:
            at = where(source, lines, ("rules", i) if key is None else ("rules", i, key))
            problems.append(f"{at}: rule {rule_id}: {reason}")

        if rule_id in seen:
            report("id", f"id used twice (first at line {seen[rule_id]})")
        seen.setdefault(rule_id, start)
        rule = _rule(raw, start, report)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise RuleError(problems)
    return RuleSet(tuple(rules), source, text)


def _rule(raw: dict, line: int, report) -> Rule | None:
    ok = True

    def bad(key: str | None, reason: str) -> None:
        nonlocal ok
        ok = False
        report(key, reason)

    for key in sorted(set(raw) - set(RULE_KEYS)):
        bad(key, f"unknown key {key!r} (known: {', '.join(RULE_KEYS)})")
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    for key in missing:
        bad(None, f"missing {key!r} ({RULE_KEYS[key]})")
    if missing:
        return None
    values = {k: raw[k] for k in raw}
    if not isinstance(values["id"], str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", values["id"]):
        bad("id", f"id must be lower-case letters, digits and _, starting with a letter; got {values['id']!r}")
    for key in ("name", "name_en", "description", "span"):
        if key in values and not isinstance(values[key], str):
            bad(key, f"{key} must be text")
    if isinstance(values.get("name"), str) and not values["name"].strip():
        bad("name", "name must not be empty")
    if values["severity"] not in SEVERITIES:
        bad("severity", f"severity must be one of {', '.join(SEVERITIES)}, got {values['severity']!r}")
    if values["scope"] not in SCOPES:
        bad("scope", f"scope must be one of {', '.join(SCOPES)}, got {values['scope']!r}")
    kind = values.get("kind", "phrase")
    if kind not in KINDS:
        bad("kind", f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    points = values["points"]
    if isinstance(points, bool) or not isinstance(points, int | float) or points < 0 or points > 100:
        bad("points", f"points must be a number from 0 to 100, got {points!r}")
    cap = values.get("max_points_per_day")
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int | float) or cap < 0 or cap > 100):
        bad("max_points_per_day", f"max_points_per_day must be a number from 0 to 100, got {cap!r}")
    for key in ("ignore_case", "enabled", "skip_order_ids"):
        if key in values and not isinstance(values[key], bool):
            bad(key, f"{key} must be true or false")
    lists = {}
    for key in ("patterns", "exceptions", "hits", "misses"):
        value = values.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            bad(key, f"{key} must be a list of non-empty texts")
            value = []
        lists[key] = tuple(value)
    for key in ("patterns", "exceptions", "span"):
        items = lists.get(key) or ((values[key],) if key == "span" and isinstance(values.get(key), str) else ())
        for pattern in items:
            reason = regex_problem(pattern)
            if reason:
                bad(key, f"{key[:-1] if key.endswith('s') else key} {pattern!r}: {reason}")
    threshold = values.get("threshold_s")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0):
        bad("threshold_s", f"threshold_s must be a whole number of seconds ≥ 0, got {threshold!r}")
    checksum = values.get("checksum")
    if checksum is not None and checksum not in CHECKSUMS:
        bad("checksum", f"checksum must be one of {', '.join(CHECKSUMS)}, got {checksum!r}")
    if kind in TIMING_KINDS:
        if values["scope"] != "timing":
            bad("scope", f"a {kind} rule has scope 'timing'")
        for key in ("patterns", "checksum", "span", "skip_order_ids", "hits", "misses"):
            if values.get(key):
                bad(key, f"{key} has no meaning for a {kind} rule")
    elif kind in TEXT_KINDS:
        if values["scope"] == "timing":
            bad("scope", f"a {kind} rule reads text: scope agent_text or buyer_text")
        if not lists["patterns"]:
            bad("patterns", "a text rule needs at least one pattern")
        if threshold is not None:
            bad("threshold_s", "threshold_s is for timing rules")
        if kind != "phrase":
            if values["scope"] != "agent_text":
                bad("scope", f"{kind} checks the agent's messages: scope agent_text")
            for key in ("exceptions", "checksum", "span", "skip_order_ids"):
                if values.get(key):
                    bad(key, f"{key} has no meaning for a {kind} rule (add accepted wording to patterns)")
    if not ok:
        return None
    return Rule(
        id=values["id"],
        name=values["name"].strip(),
        severity=values["severity"],
        scope=values["scope"],
        points=float(points),
        max_points_per_day=None if cap is None else float(cap),
        kind=kind,
        patterns=lists["patterns"],
        exceptions=lists["exceptions"],
        name_en=values.get("name_en", ""),
        description=values.get("description", "").strip(),
        ignore_case=values.get("ignore_case", True),
        checksum=checksum,
        span=values.get("span"),
        skip_order_ids=values.get("skip_order_ids", False),
        threshold_s=threshold
        if threshold is not None
        else (LONG_SILENCE_DEFAULT_S if kind == "long_silence" else None),
        enabled=values.get("enabled", True),
        hits=lists["hits"],
        misses=lists["misses"],
        line=line,
    )


# -- regular expressions -------------------------------------------------------------------------------

#: Constructs RE2 or Java's regex engine reads differently or not at all.
_NOT_PORTABLE = (
    (re.compile(r"\(\?[=!]|\(\?<[=!]"), "look-around is not supported (RE2)"),
    (re.compile(r"\(\?P?<[A-Za-z]|\(\?P[=>]"), "named groups are not portable; use (?:…)"),
    (re.compile(r"\\[1-9]"), "back-references are not supported (RE2)"),
    (re.compile(r"\(\?[imsx-]*[imsx]+[imsx-]*\)"), "write inline flags as (?i:…) around a part, not (?i) alone"),
    (re.compile(r"\\p\{?[A-Za-z]"), "\\p{…} classes are named differently in Java; write the characters"),
)


def regex_problem(pattern: str) -> str | None:
    """Why a pattern cannot be used, or None: RE2 must compile it, it must be portable and must not match ''."""
    for check, reason in _NOT_PORTABLE:
        if check.search(pattern):
            return reason
    import duckdb

    con = _re2()
    try:
        matches_empty = con.execute("SELECT regexp_matches('', ?)", [pattern]).fetchone()[0]
    except duckdb.Error as exc:
        return f"not a valid regular expression: {str(exc).split(':', 1)[-1].strip()}"
    if matches_empty:
        return "matches the empty text (every message would match)"
    return None


_RE2_CON = None


def _re2():
    """A small in-memory DuckDB used only to compile patterns with RE2, as the engine will."""
    global _RE2_CON
    if _RE2_CON is None:
        import duckdb

        _RE2_CON = duckdb.connect()
    return _RE2_CON.cursor()


def count_groups(pattern: str) -> int:
    """Capturing groups in a pattern: '(' not escaped, not inside [...], not followed by '?'."""
    count, i, in_class = 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1  # a literal ] first in a class
        elif c == "(" and pattern[i + 1 : i + 2] != "?":
            count += 1
        i += 1
    return count

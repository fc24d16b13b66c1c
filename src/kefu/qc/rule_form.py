"""Editing one rule of the library without writing TOML (质检 → 规则库 → 编辑): the form's fields in, the
library's text out, with only that rule's [[rules]] table rewritten.

The text is then saved as any other through `kefu.qc.examples.save_rules` (syntax, every rule, each rule's
examples), so a form cannot write a library the TOML editor would refuse. The rest of the file —
other rules, comments between rules — stays byte for byte; comments inside the edited table are lost.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kefu.qc.rules import RULES_FILE, Rule, RuleError, parse_rules

#: What the form edits; every other key of the rule is written back as it was.
EDITABLE = ("name", "severity", "scope", "points", "max_points_per_day", "patterns", "exceptions")


def edit_rule(text: str, rule_id: str, changes: dict[str, Any], source: str = RULES_FILE) -> str:
    """`text` with rule `rule_id`'s table rewritten with `changes` (keys of EDITABLE).

    Raises RuleError when the current text does not parse, the rule is unknown or a key is not editable.
    The result is not validated here: save it with `save_rules`, which is.
    """
    if unknown := sorted(set(changes) - set(EDITABLE)):
        raise RuleError([f"{source}: {unknown[0]!r} cannot be edited in the form (edit the TOML)"])
    library = parse_rules(text, source)
    rule = next((r for r in library.rules if r.id == rule_id), None)
    if rule is None:
        raise RuleError([f"{source}: no rule {rule_id!r}"])
    lines = text.splitlines(keepends=True)
    start = rule.line - 1
    later = [r.line for r in library.rules if r.line > rule.line]
    end = min(later) - 1 if later else len(lines)
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # blank lines and the comments before the next table belong to it
    return "".join(lines[:start]) + rule_table(replace(rule, **changes)) + "".join(lines[end:])


def rule_table(rule: Rule) -> str:
    """The rule as a [[rules]] table: its keys in the order of the shipped library, defaults left out."""
    out = ["[[rules]]"]

    def put(key: str, value: Any) -> None:
        out.append(f"{key} = {toml_value(value)}")

    put("id", rule.id)
    put("name", rule.name)
    if rule.name_en:
        put("name_en", rule.name_en)
    put("severity", rule.severity)
    put("scope", rule.scope)
    if rule.kind != "phrase":
        put("kind", rule.kind)
    put("points", rule.points)
    if rule.max_points_per_day is not None:
        put("max_points_per_day", rule.max_points_per_day)
    if rule.threshold_s is not None:
        put("threshold_s", rule.threshold_s)
    for key, default in (("ignore_case", True), ("skip_order_ids", False), ("enabled", True)):
        if getattr(rule, key) != default:
            put(key, getattr(rule, key))
    if rule.checksum:
        put("checksum", rule.checksum)
    if rule.span:
        out.append(f"span = {toml_value(rule.span, regex=True)}")
    if rule.description:
        out.append(f'description = """{_basic(rule.description, multiline=True)}"""')
    for key in ("patterns", "exceptions", "hits", "misses"):
        values = getattr(rule, key)
        if values:
            regex = key in ("patterns", "exceptions")
            out.append(f"{key} = [\n" + "".join(f"    {toml_value(v, regex=regex)},\n" for v in values) + "]")
    return "\n".join(out) + "\n"


def toml_value(value: Any, regex: bool = False) -> str:
    """A TOML value; a regular expression as a literal string ('…', its backslashes as typed) when it can be."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if regex and "'" not in text and "\n" not in text and "\r" not in text:
        return f"'{text}'"
    return f'"{_basic(text)}"'


def _basic(text: str, multiline: bool = False) -> str:
    """Escape for a TOML basic string (multi-line ones keep their line breaks)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return escaped if multiline else escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def form_changes(form: dict[str, str]) -> dict[str, Any]:
    """The form's fields as rule values: one pattern / exception per line, an empty cap is no cap.

    A number that is not one is left as text, so that the library's validation names it (file, line, rule)."""

    def number(text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            return text

    changes: dict[str, Any] = {k: form[k].strip() for k in ("name", "severity", "scope") if k in form}
    if "points" in form:
        changes["points"] = number(form["points"].strip())
    if "max_points_per_day" in form:
        cap = form["max_points_per_day"].strip()
        changes["max_points_per_day"] = number(cap) if cap else None
    for key in ("patterns", "exceptions"):
        if key in form:
            changes[key] = tuple(line.strip() for line in form[key].splitlines() if line.strip())
    return changes

"""The reference tables of docs/qc.md, generated from the declarations (tests/qc/test_qc_docs.py checks for drift).

Regenerate:  python -m kefu.qc.docs
"""

from __future__ import annotations

from kefu.qc.rules import RULE_KEYS, default_rules_text, parse_rules


def rule_keys_markdown() -> str:
    lines = ["| key | meaning |", "|---|---|"]
    lines += [f"| `{key}` | {help_} |" for key, help_ in RULE_KEYS.items()]
    return "\n".join(lines)


def default_rules_markdown() -> str:
    rules = parse_rules(default_rules_text(), "default_rules.toml").rules
    lines = ["| id | 名称 | severity | scope | kind | points | max/day |", "|---|---|---|---|---|---|---|"]
    lines += [
        f"| `{r.id}` | {r.name} | {r.severity} | {r.scope} | {r.kind} | {r.points:g} "
        f"| {'—' if r.max_points_per_day is None else format(r.max_points_per_day, 'g')} |"
        for r in rules
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(rule_keys_markdown(), end="\n\n")
    print(default_rules_markdown())

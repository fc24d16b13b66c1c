"""Each rule's own examples, checked by the engine itself: `hits` must be flagged, `misses` must not;
and saving a library, which must pass that check.

Every example is a one-message dialogue of its own in an in-memory workspace,
so a rule is judged exactly as `kefu qc run` will judge a chat. The imports go
one way: rules ← engine ← examples (tests/test_import_graph.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from kefu.config import Params
from kefu.derive import workspace_sources
from kefu.qc.engine import inspect
from kefu.qc.rules import RULES_FILE, RuleError, RuleSet, parse_rules
from kefu.workspace import Workspace

WHEN = dt.datetime(2026, 1, 1, 10, 0, 0)


def example_outcomes(rules: RuleSet) -> list[dict]:
    """For every example of every enabled text rule: rule, kind ('hit' | 'miss'), text, flagged, match."""
    examples = [
        (r, kind, i, text)
        for r in rules.enabled
        if not r.is_timing
        for kind, texts in (("hit", r.hits), ("miss", r.misses))
        for i, text in enumerate(texts)
    ]
    if not examples:
        return []
    with Workspace.memory() as ws:
        rows = [
            (WHEN, "ex", _buyer(r.id, kind, i), "ex:agent", "buyer" if r.scope == "buyer_text" else "agent", text)
            for r, kind, i, text in examples
        ]
        ws.con.executemany(
            "INSERT INTO messages (ts, shop, buyer, agent, sender, text) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        with inspect(workspace_sources(ws), list({r.id: r for r, *_ in examples}.values()), Params()) as expr:
            found = {} if expr is None else {(f.rule, f.buyer): f.match for f in expr.execute().itertuples()}
    return [
        {
            "rule": r.id,
            "line": r.line,
            "kind": kind,
            "text": text,
            "flagged": (r.id, _buyer(r.id, kind, i)) in found,
            "match": found.get((r.id, _buyer(r.id, kind, i))),
        }
        for r, kind, i, text in examples
    ]


def example_problems(rules: RuleSet) -> list[str]:
    """'file:line: rule id: …' for every hit not flagged and every miss flagged."""
    problems = []
    for o in example_outcomes(rules):
        if o["kind"] == "hit" and not o["flagged"]:
            problems.append(f"{rules.source}:{o['line']}: rule {o['rule']}: example hit {o['text']!r} is not flagged")
        elif o["kind"] == "miss" and o["flagged"]:
            problems.append(
                f"{rules.source}:{o['line']}: rule {o['rule']}: example miss {o['text']!r} is flagged "
                f"(match {o['match']!r})"
            )
    return problems


def save_rules(ws: Any, text: str) -> RuleSet:
    """Validate `text` (syntax, every rule, and each rule's own examples) and write it as the workspace's library."""
    if not getattr(ws, "path", None):
        raise RuleError(["an in-memory workspace has no rule file"])
    path = Path(ws.path) / RULES_FILE
    rules = parse_rules(text, str(path))
    problems = example_problems(rules)
    if problems:
        raise RuleError(problems)
    path.write_text(text, encoding="utf-8")
    return rules


def _buyer(rule_id: str, kind: str, i: int) -> str:
    return f"{rule_id}#{kind}{i}"

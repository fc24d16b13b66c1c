"""Each rule's own examples, checked by the engine itself: `hits` must be flagged, `misses` must not.

Every example is a one-message dialogue of its own in an in-memory workspace,
so a rule is judged exactly as `kefu qc run` will judge a chat.
"""

from __future__ import annotations

import datetime as dt

from kefu.config import Params
from kefu.metrics.derived import workspace_sources
from kefu.qc.rules import RuleSet
from kefu.workspace import Workspace

WHEN = dt.datetime(2026, 1, 1, 10, 0, 0)


def example_outcomes(rules: RuleSet) -> list[dict]:
    """For every example of every enabled text rule: rule, kind ('hit' | 'miss'), text, flagged, match."""
    from kefu.qc.engine import inspect

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


def _buyer(rule_id: str, kind: str, i: int) -> str:
    return f"{rule_id}#{kind}{i}"

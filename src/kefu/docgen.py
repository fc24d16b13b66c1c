"""Reference tables for the docs, generated from the declarations (tests/test_docs.py checks the docs hold them)."""

from __future__ import annotations

from kefu.config import SETTINGS
from kefu.metrics.registry import METRICS, Diff, Formula, Ratio, Sum
from kefu.schema import TABLES

DIRECTION = {True: "↑ higher is better", False: "↓ lower is better", None: "—"}


def _formula(f: Formula) -> str:
    if isinstance(f, Sum):
        return f"Σ {f.measure}"
    if isinstance(f, Ratio):
        return f"{f.numerator} / {f.denominator}"
    assert isinstance(f, Diff)
    return f"{f.minuend} − {f.subtrahend}"


def metrics_markdown() -> str:
    rows = [
        "| key | 中文 | English | unit | direction | formula (over the group's rows) | definition · 定义 |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in METRICS:
        scope = " *(shop groupings only)*" if m.shop_level else ""
        rows.append(
            f"| `{m.key}` | {m.zh} | {m.en} | {m.unit} | {DIRECTION[m.higher_is_better]} "
            f"| `{_formula(m.formula)}` | {m.doc}{scope}<br>{m.doc_zh} |"
        )
    return "\n".join(rows) + "\n"


def tables_markdown() -> str:
    out = []
    for t in TABLES.values():
        key = ", ".join(t.key) if t.key else "none, a multiset of whole rows (identical rows all count, D14)"
        out += [
            f"### `{t.name}` — {t.zh}",
            "",
            f"{t.doc} {'**Required.**' if t.required else 'Optional.'} Key: {key}.",
            "",
            "| column | type | required | allowed / default | note |",
            "|---|---|---|---|---|",
        ]
        for c in t.columns:
            allowed = ", ".join(c.choices)
            if c.default is not None:
                allowed += f"{'; ' if allowed else ''}default `{c.default}`"
            if c.bounds:
                allowed = f"{c.bounds[0]}–{c.bounds[1]}"
            out.append(f"| `{c.name}` | {c.kind} | {'yes' if c.required else ''} | {allowed} | {c.doc} |")
        out.append("")
    return "\n".join(out)


def settings_markdown(section: str = "kpi") -> str:
    rows = ["| key | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.name}` | `{s.default}` | {s.help} |" for s in SETTINGS if s.section == section]
    return "\n".join(rows) + "\n"

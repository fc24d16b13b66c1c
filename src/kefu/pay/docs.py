"""Reference tables of docs/pay.md, generated from the declarations (tests/pay/test_docs.py checks the doc holds them).

python -m kefu.pay.docs    # prints them
"""

from __future__ import annotations

import typing

from pydantic import BaseModel

from kefu.pay.inputs import reference_markdown as inputs_markdown
from kefu.pay.measures import MEASURES, PAY_MEASURES
from kefu.pay.scheme import COMPONENT_KINDS, AppliesTo, Base, Condition, Limits, Scheme, ScoredKPI, Tier

DIRECTION = {True: "↑", False: "↓", None: "—"}


def _fields(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    rows = []
    for name, f in model.model_fields.items():
        if name in skip or f.exclude:
            continue
        key = f.alias or name
        if f.is_required():
            default = "required"
        elif isinstance(f.default, BaseModel):
            default = "see below"
        else:
            default = f"`{f.default!r}`".replace("Decimal('", "").replace("')", "")
        rows.append(f"| `{key}` | {default} | {f.description or ''} |")
    return rows


def _table(model: type[BaseModel], title: str, skip: tuple[str, ...] = ()) -> str:
    doc = " ".join((model.__doc__ or "").split())
    return "\n".join(
        [f"#### {title}", "", doc, "", "| key | default | meaning |", "|---|---|---|", *_fields(model, skip), ""]
    )


def scheme_markdown() -> str:
    parts = [
        _table(Scheme, "the scheme (top level)"),
        _table(AppliesTo, "`[applies_to]`"),
        _table(Base, "`[base]`"),
        _table(Limits, "`[limits]`"),
    ]
    for kind in COMPONENT_KINDS:
        tag = typing.get_args(kind.model_fields["kind"].annotation)[0]
        parts.append(_table(kind, f'`[[components]]` kind = "{tag}"', skip=("kind",)))
    parts += [
        _table(Tier, "a commission tier"),
        _table(ScoredKPI, "a scored KPI (`[[components.kpis]]`)"),
        _table(Condition, "a condition (`when = [...]`)"),
    ]
    return "\n".join(parts)


def measures_markdown() -> str:
    rows = ["| key | 中文 | unit | better | note |", "|---|---|---|---|---|"]
    for m in MEASURES.values():
        note = m.doc if m in PAY_MEASURES else "KPI of the month (docs/metrics.md)"
        rows.append(f"| `{m.key}` | {m.zh} | {m.unit} | {DIRECTION[m.higher_is_better]} | {note} |")
    return "\n".join(rows) + "\n"


def inputs_reference() -> str:
    return inputs_markdown()


if __name__ == "__main__":
    print(scheme_markdown())
    print(measures_markdown())
    print(inputs_reference())

"""What-if (方案对比): the same month under two sets of schemes, side by side, per agent and component."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kefu.pay.model import Payroll, Slip
from kefu.pay.output import money_number

ZERO = Decimal("0.00")


def compare(a: Payroll, b: Payroll) -> list[dict[str, Any]]:
    """One row per agent paid under either: totals under A and B, the change, and each component's change.

    Components are matched by name (基本工资 for the base); one missing on a side counts as 0 there.
    """
    agents = list(dict.fromkeys([s.agent.agent for s in a.slips] + [s.agent.agent for s in b.slips]))
    rows = []
    for agent in agents:
        sa, sb = a.slip(agent), b.slip(agent)
        either = sa or sb
        assert either is not None  # the agent is paid under A or B
        info = either.agent
        ta, tb = (sa.total if sa else None), (sb.total if sb else None)
        rows.append(
            {
                "agent": agent,
                "name": info.name,
                "shop": info.shop,
                "team": info.team,
                "employer": info.employer,
                "scheme_a": _label(sa),
                "scheme_b": _label(sb),
                "total_a": _n(ta),
                "total_b": _n(tb),
                "change": money_number((tb or ZERO) - (ta or ZERO)),
                "components": _components(sa, sb),
            }
        )
    return rows


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals of a comparison: the pay bill under A and B, and how many agents gain or lose."""
    ta = sum((Decimal(str(r["total_a"] or 0)) for r in rows), Decimal(0))
    tb = sum((Decimal(str(r["total_b"] or 0)) for r in rows), Decimal(0))
    return {
        "agents": len(rows),
        "total_a": money_number(ta),
        "total_b": money_number(tb),
        "change": money_number(tb - ta),
        "gain": sum(r["change"] > 0 for r in rows),
        "lose": sum(r["change"] < 0 for r in rows),
        "same": sum(r["change"] == 0 for r in rows),
    }


def flat(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CSV rows: the totals, then `<component> A/B/Δ` columns."""
    names = list(dict.fromkeys(c["component"] for r in rows for c in r["components"]))
    out = []
    for r in rows:
        row = {
            k: r[k]
            for k in (
                "agent",
                "name",
                "shop",
                "team",
                "employer",
                "scheme_a",
                "scheme_b",
                "total_a",
                "total_b",
                "change",
            )
        }
        by_name = {c["component"]: c for c in r["components"]}
        for n in names:
            c = by_name.get(n, {"a": None, "b": None, "change": 0})
            row |= {f"{n} A": c["a"], f"{n} B": c["b"], f"{n} Δ": c["change"]}
        out.append(row)
    return out


def _components(sa: Slip | None, sb: Slip | None) -> list[dict[str, Any]]:
    la = {x.component: x.amount for x in sa.lines} if sa else {}
    lb = {x.component: x.amount for x in sb.lines} if sb else {}
    names = list(dict.fromkeys(list(la) + list(lb)))
    return [
        {
            "component": n,
            "a": _n(la.get(n)),
            "b": _n(lb.get(n)),
            "change": money_number(lb.get(n, ZERO) - la.get(n, ZERO)),
        }
        for n in names
    ]


def _label(slip: Slip | None) -> str | None:
    return f"{slip.scheme} ({slip.scheme_version})" if slip else None


def _n(value: Decimal | None) -> float | None:
    return None if value is None else money_number(value)

"""Settlement per outsourcing vendor (外包结算单): the pay of each of the vendor's agents, and the sum."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kefu.pay.model import Payroll
from kefu.pay.output import component_names, money_number, slip_summary

IN_HOUSE = "in_house"


def settlements(payroll: Payroll, employer: str | None = None) -> list[dict[str, Any]]:
    """One settlement per vendor (or just `employer`): agent lines with base, components and total."""
    vendors = sorted({s.agent.employer for s in payroll.slips if s.agent.employer != IN_HOUSE})
    if employer is not None:
        vendors = [v for v in vendors if v == employer]
    out = []
    for vendor in vendors:
        slips = [s for s in payroll.slips if s.agent.employer == vendor]
        sub = Payroll(payroll.month, tuple(slips))
        out.append(
            {
                "employer": vendor,
                "month": payroll.month,
                "components": component_names(sub),
                "agents": [slip_summary(s) for s in slips],
                "base": money_number(sum((s.base for s in slips), Decimal(0))),
                "total": money_number(sub.total),
            }
        )
    return out

"""What the CLI and the web app call: a workspace and a month in, payroll / explanation / comparison out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kefu.config import Params
from kefu.errors import NotFound
from kefu.pay import compare as compare_mod
from kefu.pay import explain as explain_mod
from kefu.pay.model import MonthData, Payroll
from kefu.pay.payroll import compute, raise_hints
from kefu.pay.scheme import Scheme, SchemeError, assign, load_schemes, select, workspace_schemes
from kefu.pay.sources import KpiFn, gather
from kefu.workspace import Workspace


def schemes_of(ws: Workspace, paths: Sequence[Path] | None = None) -> list[Scheme]:
    """`paths` (files or folders) when given, else the workspace's `schemes/` folder; none found is an error."""
    found = load_schemes(paths) if paths else workspace_schemes(ws.path)
    if not found:
        where = ", ".join(map(str, paths)) if paths else f"{ws.path}/schemes/" if ws.path else "--scheme"
        raise SchemeError([f"no pay scheme in {where}; copy one from examples/schemes/ (docs/pay.md)"])
    return found


def month_data(ws: Workspace, month: str, params: Params | None = None, kpis: KpiFn | None = None) -> MonthData:
    return gather(ws, month, params, kpis)


def payroll(
    ws: Workspace, month: str, schemes: Sequence[Scheme] | None = None, *, data: MonthData | None = None
) -> Payroll:
    data = data or month_data(ws, month)
    return compute(data, schemes if schemes is not None else schemes_of(ws))


def explain(
    ws: Workspace,
    month: str,
    agent: str,
    schemes: Sequence[Scheme] | None = None,
    *,
    data: MonthData | None = None,
    params: Params | None = None,
    day_kpis: list[dict] | None = None,
) -> dict[str, Any]:
    """An agent's slip with every rule, value, formula and row behind it; NotFound (a KeyError) when the agent is not paid."""
    params = params or ws.config.params
    schemes = list(schemes if schemes is not None else schemes_of(ws))
    data = data or month_data(ws, month, params)
    result = compute(data, schemes)
    slip = result.slip(agent)
    if slip is None:
        known = agent in data.agents
        raise NotFound(
            f"{agent} is not paid by any scheme in {month}"
            if known
            else f"no agent {agent!r} in {month} (accounts look like 店铺:名字)"
        )
    scheme = assign({agent: data.agents[agent]}, select(schemes, month))[agent]
    out = explain_mod.explanation(ws, data, slip, scheme, params, day_kpis)
    out["hints"] = hints_records(data, schemes, agent)
    return out


def hints_records(data: MonthData, schemes: Sequence[Scheme], agent: str) -> list[dict[str, Any]]:
    from kefu.pay.output import plain

    return plain(raise_hints(data, schemes, agent))


def compare(
    ws: Workspace, month: str, a: Sequence[Scheme], b: Sequence[Scheme], *, data: MonthData | None = None
) -> list[dict]:
    data = data or month_data(ws, month)
    return compare_mod.compare(compute(data, a), compute(data, b))

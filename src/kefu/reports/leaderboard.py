"""The leaderboard (客服排行) as pure functions from KPI records and the roster to the page's tables.

Agents are ranked within their role (售前 / 售后 / 退款 …): a refund agent's ¥0 of
sales is not the valley of the pre-sales team. A metric that means nothing for
a role (selling, for anyone but pre-sales) is not shown for it, and a role is
ranked by its own default metric when the one asked for does not apply.
Each agent's figures are compared with the period just before (较前日 for one
day) and the same period a week earlier (较上周同日), and the ranked metric
with the agent's monthly target (月目标), as in 赤兔's daily ranking.
`collect` and `collect_teams` fetch the records through any `kpis(by, date_from, date_to)` function (as
kefu.reports.daily does); `page` and `teams_table` build the page's data, touching no data source.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kefu.errors import KefuError
from kefu.metrics.provisional import provisional
from kefu.metrics.registry import BY_KEY, METRICS, applies
from kefu.reports.daily import KpiFetch, delta, peak_to_valley, team_progress
from kefu.schema import ROLES
from kefu.targets import Target, progress

#: Metrics that measure selling (declared in the registry by their `roles`): pre-sales only.
SALES_METRICS = frozenset(m.key for m in METRICS if m.roles is not None)
#: Human roles in the order the page lists them (schema.ROLES without the bot).
ROLE_ORDER = tuple(r for r in ROLES if r != "bot")
#: What a role is ranked by when the metric asked for does not apply to it.
FALLBACK_SORT = "avg_response_s"
#: The page's columns (the ranked metric is added when it is not one of them).
COLUMNS = (
    "consult_buyers",
    "received_buyers",
    "reply_rate",
    "answer_ratio",
    "avg_first_response_s",
    "avg_response_s",
    "rate_3min",
    "slow_responses",
    "slow_response_buyers",
    "inquiry_buyers",
    "inquiry_conversion",
    "lost_buyers",
    "attributed_orders",
    "sales_amount",
    "avg_order_value",
    "satisfaction_rate",
    "complaints",
)


def role_columns(columns: Iterable[str], role: str) -> list[str]:
    return [k for k in columns if applies(k, role)]


def default_desc(metric: str) -> bool:
    """Best first: descending unless lower is better."""
    return BY_KEY[metric].higher_is_better is not False


def month_elapsed(day: dt.date) -> float:
    """Share of the month's days up to and including `day` (本月已过)."""
    return day.day / calendar.monthrange(day.year, day.month)[1]


def roles_of(agents: Iterable[str], roster: Mapping[str, dict]) -> list[str]:
    """The roles of these agents, in ROLE_ORDER."""
    return sorted({roster[a]["role"] for a in agents}, key=_role_order)


def _role_order(role: str) -> tuple[int, str]:
    return (ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER), role)


def comparison_periods(date_from: dt.date, date_to: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """The periods a period is compared with: the one of the same length just before it (the previous day for one
    day) and the same days a week earlier."""
    length = (date_to - date_from).days + 1
    shift = {"previous": dt.timedelta(days=length), "last_week": dt.timedelta(days=7)}
    return {name: (date_from - d, date_to - d) for name, d in shift.items()}


def ranked(records: list[dict], metric: str, desc: bool) -> list[tuple[int | None, dict]]:
    """Records best first by `metric`, each with its rank; undefined values last and unranked."""
    defined = sorted(
        (r for r in records if r.get(metric) is not None), key=lambda r: (r[metric], r["agent"]), reverse=desc
    )
    undefined = [r for r in records if r.get(metric) is None]
    return [(i, r) for i, r in enumerate(defined, start=1)] + [(None, r) for r in undefined]


def select(
    records: list[dict],
    roster: Mapping[str, dict],
    *,
    role: str | None = None,
    team: str | None = None,
    employer: str | None = None,
) -> list[dict]:
    """The records of the agents that pass the filters (employer: `in_house`, `vendor` for every vendor)."""

    def keep(info: dict) -> bool:
        return (
            (role is None or info["role"] == role)
            and (team is None or info["team"] == team)
            and (employer is None or (info["employer"] == "in_house") == (employer == "in_house"))
        )

    return [r for r in records if keep(roster[r["agent"]])]


def month_target(agent: str, metric: str, mtd: dict, targets: list[Target], month: str, elapsed: float) -> dict | None:
    """The agent's month to date on `metric` against their target of the month (None without a target)."""
    goal = next(
        (
            t.value
            for t in targets
            if t.scope == "agent" and t.subject == agent and t.metric == metric and t.month == month
        ),
        None,
    )
    if goal is None:
        return None
    return progress(mtd.get(metric), goal, metric, elapsed_share=elapsed)


def board(
    records: list[dict],
    roster: Mapping[str, dict],
    columns: Iterable[str],
    sort: str,
    desc: bool | None,
    *,
    compare: Mapping[str, Mapping[str, dict]] | None = None,
    mtd: Mapping[str, dict] | None = None,
    targets: Sequence[Target] = (),
    month: str = "",
    elapsed: float = 1.0,
    shown: Mapping[str, bool] | None = None,
    viewer: str | None = None,
) -> list[dict]:
    """One group per role present in `records` (in ROLE_ORDER), each ranked within the role.

    `compare` maps "previous" / "last_week" to {agent: record} of those periods; `mtd` is {agent: month-to-date
    record}; `shown` says per agent whether the name may be shown (default: every name); `viewer` is the agent
    looking at the page, whose row is marked `me`.
    """
    compare = compare or {}
    columns = list(columns)
    by_role: dict[str, list[dict]] = {}
    for r in records:
        by_role.setdefault(roster[r["agent"]]["role"], []).append(r)
    groups = []
    for role in sorted(by_role, key=_role_order):
        cols = role_columns(columns, role)
        key = sort if applies(sort, role) else FALLBACK_SORT
        order = desc if (desc is not None and key == sort) else default_desc(key)
        rows = [
            _row(
                rank,
                r,
                roster[r["agent"]],
                columns,
                cols,
                key,
                compare,
                mtd or {},
                targets,
                month,
                elapsed,
                shown,
                viewer,
            )
            for rank, r in ranked(by_role[role], key, order)
        ]
        spread = {k: peak_to_valley(k, {r["agent"]: r.get(k) for r in by_role[role]}) for k in cols}
        for s in spread.values():
            s["peak_name"], s["valley_name"] = (_name(s[f"{end}_agent"], roster, shown) for end in ("peak", "valley"))
            if shown is not None:
                s["peak_agent"] = s["peak_agent"] if shown.get(s["peak_agent"], True) else None
                s["valley_agent"] = s["valley_agent"] if shown.get(s["valley_agent"], True) else None
        groups.append({"role": role, "sort": key, "desc": order, "columns": cols, "rows": rows, "spread": spread})
    return groups


def _name(agent: str | None, roster: Mapping[str, dict], shown: Mapping[str, bool] | None) -> str | None:
    if agent is None or (shown is not None and not shown.get(agent, True)):
        return None
    return roster[agent]["name"]


def _row(rank, r, info, columns, cols, key, compare, mtd, targets, month, elapsed, shown, viewer) -> dict:
    agent = r["agent"]
    visible = shown is None or shown.get(agent, True)
    return {
        "rank": rank,
        "agent": agent if visible else None,
        "name": info["name"] if visible else None,
        "team": info["team"],
        "employer": info["employer"],
        "role": info["role"],
        "me": viewer is not None and agent == viewer,
        **{k: r.get(k) for k in columns},  # every column's value (JSON); the group's `columns` are those that apply
        **{
            f"vs_{name}": {k: delta(r.get(k), other.get(agent, {}).get(k)) for k in cols}
            for name, other in (("previous", compare.get("previous", {})), ("last_week", compare.get("last_week", {})))
        },
        "month_target": month_target(agent, key, mtd.get(agent, {}), targets, month, elapsed),
    }


# -- the page ----------------------------------------------------------------------------------------


class LeaderboardError(KefuError):
    """A filter the shop cannot answer (a team it does not have)."""


@dataclass(frozen=True)
class BoardQuery:
    """What the page ranks: a shop's agents over a period by `sort` (best first when `desc` is None), filtered."""

    shop: str
    date_from: dt.date
    date_to: dt.date
    sort: str
    desc: bool | None = None
    employer: str | None = None  # in_house, or vendor (every vendor)
    role: str | None = None
    team: str | None = None


@dataclass(frozen=True)
class BoardData:
    """The KPI records a page is made of, of the agents listed (`collect`)."""

    period: list[dict]  # over the period
    compare: dict[str, dict[str, dict]]  # "previous" / "last_week" (comparison_periods) -> {agent: record}
    mtd: dict[str, dict]  # the month to date up to date_to


def _period(kpis: KpiFetch, by: str, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Records per `by` (agent, team) over a period; one day is read from the by × day table (cached by the web)."""
    if date_from == date_to:
        day = date_from.isoformat()
        return [r for r in kpis((by, "day"), None, None) if r["day"] == day]
    return kpis((by,), date_from, date_to)


def collect(kpis: KpiFetch, agents: Collection[str], date_from: dt.date, date_to: dt.date) -> BoardData:
    def of(records: list[dict]) -> dict[str, dict]:
        return {r["agent"]: r for r in records if r["agent"] in agents}

    return BoardData(
        [r for r in _period(kpis, "agent", date_from, date_to) if r["agent"] in agents],
        {name: of(_period(kpis, "agent", *span)) for name, span in comparison_periods(date_from, date_to).items()},
        of(kpis(("agent",), date_to.replace(day=1), date_to)),
    )


def page(
    q: BoardQuery,
    data: BoardData,
    roster: Mapping[str, dict],
    peers: Collection[str],
    targets: Sequence[Target] = (),
    *,
    viewer: str | None = None,
    names_hidden: bool = False,
    data_until: dt.datetime | None = None,
    teams: dict | None = None,
) -> dict:
    """The leaderboard of `peers` (the agents listed, all of `roster`'s) as the page and its JSON show it.

    `viewer` is the agent looking at the page (their row is marked `me`); with `names_hidden` every other row
    loses its agent, name, team and employer, and the team and employer filters are ignored (they would single
    out the few agents of a small team). `data_until` (kefu.api.data_until) says which figures are still
    provisional; `teams` is `teams_table` for those who may see team totals. LeaderboardError for a team
    the agents do not have."""
    team_names = sorted({roster[a]["team"] for a in peers} - {None})
    if q.team is not None and q.team not in team_names:
        raise LeaderboardError(f"no team {q.team!r} in {q.shop} (teams: {', '.join(team_names) or 'none'})")
    columns = COLUMNS if q.sort in COLUMNS else (*COLUMNS, q.sort)  # the ranked metric is always shown
    team, employer = (None, None) if names_hidden else (q.team, q.employer)
    records = select(data.period, roster, role=q.role, team=team, employer=employer)
    month = q.date_to.strftime("%Y-%m")
    groups = board(
        records,
        roster,
        columns,
        q.sort,
        q.desc,
        compare=data.compare,
        mtd=data.mtd,
        targets=targets,
        month=month,
        elapsed=month_elapsed(q.date_to),
        shown={a: a == viewer for a in peers} if names_hidden else None,
        viewer=viewer,
    )
    if names_hidden:  # a hidden row's team and employer would name the person in a small team
        for row in (r for g in groups for r in g["rows"] if not r["me"]):
            row["team"] = row["employer"] = None
    first_group = groups[0]["spread"] if groups else {}
    periods = comparison_periods(q.date_from, q.date_to)
    return {
        "shop": q.shop,
        "date_from": q.date_from.isoformat(),
        "date_to": q.date_to.isoformat(),
        "sort": q.sort,
        "desc": default_desc(q.sort) if q.desc is None else q.desc,
        "employer": employer,
        "role": q.role,
        "team": team,
        "names_hidden": names_hidden,
        "columns": list(columns),
        "rows": [r for g in groups for r in g["rows"]],
        # kept for the API's readers: the first role's gap (per role in `groups`)
        "spread": {k: first_group.get(k) or peak_to_valley(k, {}) for k in columns},
        "groups": groups,
        "roles": roles_of(peers, roster),
        "team_names": team_names,
        "comparison": {name: [d.isoformat() for d in span] for name, span in periods.items()},
        "month": month,
        "provisional": final_days(columns, q.date_from, q.date_to, data_until),
        "teams": teams,
    }


def final_days(
    keys: Iterable[str], date_from: dt.date, date_to: dt.date, data_until: dt.datetime | None
) -> dict[str, str]:
    """{metric: the day it becomes final} for the figures over the period that later rows can still change."""
    return {k: d.isoformat() for k, d in provisional(keys, date_from, date_to, data_until).items()}


# -- whole teams (组别) ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamData:
    period: list[dict]  # the shop's team records over the period
    mtd: dict[str | None, dict]  # team -> month to date up to date_to


def collect_teams(kpis: KpiFetch, shop: str, date_from: dt.date, date_to: dt.date) -> TeamData:
    return TeamData(
        [r for r in _period(kpis, "team", date_from, date_to) if r["shop"] == shop],
        {r["team"]: r for r in kpis(("team",), date_to.replace(day=1), date_to) if r["shop"] == shop},
    )


def teams_table(data: TeamData, targets: Sequence[Target], shop: str, date_to: dt.date) -> dict:
    """Whole teams (every agent of the team, whatever the filters): figures over the period, in team order
    (agents without a team last), and month to date up to `date_to` against the month's team targets."""
    month, elapsed = date_to.strftime("%Y-%m"), month_elapsed(date_to)
    rows = [
        {"team": r["team"], **{k: r.get(k) for k in COLUMNS}}
        for r in sorted(data.period, key=lambda r: (r["team"] is None, r["team"] or ""))
    ]
    return {
        "month": month,
        "elapsed_share": elapsed,
        "columns": list(COLUMNS),
        "rows": rows,
        "targets": team_progress(data.mtd, list(targets), shop, month, elapsed),
    }

"""Pay schemes (绩效方案), declared in TOML and validated before anything is paid.

A scheme names the agents it pays (`applies_to`), the month it takes effect
(`effective_from`, a new file per version), a base pay and a list of
components. The component kinds are the pydantic models below; their field
descriptions are the reference table of docs/pay.md (checked by a test).
Every problem of every file is collected, each naming the file, the line and
the key path (`presales.toml:14: components[2].kpis[1].best: …`).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from kefu.errors import KefuError
from kefu.month import Month
from kefu.pay.measures import KPI_KEYS, MEASURES
from kefu.pay.model import AgentInfo
from kefu.schema import ROLES
from kefu.tomlpos import key_lines, load, where

SCHEMES_DIR = "schemes"


class SchemeError(KefuError):
    """One or more schemes are wrong; `problems` lists every one (file:line: key: reason)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _number(value: Any) -> Any:
    """Numbers as exact decimals; "90%" is 0.9 and "1,000" is 1000."""
    if isinstance(value, bool):
        raise ValueError("a number is needed, not true/false")
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            return Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
        except InvalidOperation:
            raise ValueError(f'{value!r} is not a number (write 0.9 or "90%")') from None
    return value


Number = Annotated[Decimal, BeforeValidator(_number)]
Money = Annotated[Decimal, BeforeValidator(_number), Field(max_digits=18, decimal_places=2)]


def _known_measure(key: str) -> str:
    if key not in MEASURES:
        close = difflib.get_close_matches(key, MEASURES, n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (see docs/pay.md for the keys)"
        raise ValueError(f"unknown KPI {key!r}{hint}")
    return key


MeasureKey = Annotated[str, BeforeValidator(lambda v: _known_measure(str(v)))]
STANDARDS = ("shop", "target")


def _number_or_standard(value: Any) -> Any:
    if isinstance(value, str) and value.strip() in STANDARDS:
        return value.strip()
    try:
        return _number(value)
    except ValueError:
        raise ValueError(f'{value!r} is not a number, "shop" or "target"') from None


Target = Annotated[Decimal | Literal["shop", "target"], BeforeValidator(_number_or_standard)]


def _check_unit(key: str, value: Decimal, field: str) -> None:
    if MEASURES[key].unit == "ratio" and not 0 <= value <= 1:
        raise ValueError(f'{field}: {key} is a rate; write {value / 100} or "{value}%", not {value}')


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AppliesTo(_Model):
    """Who the scheme pays. Every list that is given must contain the agent's value (an empty list = any)."""

    roles: list[str] = Field([], description="roles of the agents table (presales, aftersales, refund, …)")
    teams: list[str] = Field([], description="team names")
    agents: list[str] = Field([], description="accounts, `店铺:名字`")
    employers: list[str] = Field([], description="`in_house` or vendor names")
    shops: list[str] = Field([], description="shop names")

    @field_validator("roles")
    @classmethod
    def _roles(cls, roles: list[str]) -> list[str]:
        bad = [r for r in roles if r not in ROLES]
        if bad:
            raise ValueError(f"unknown role {', '.join(map(repr, bad))} (roles: {', '.join(ROLES)})")
        return roles

    @model_validator(mode="after")
    def _something(self) -> AppliesTo:
        if not any((self.roles, self.teams, self.agents, self.employers, self.shops)):
            raise ValueError("applies_to needs at least one of roles, teams, agents, employers, shops")
        return self

    def matches(self, a: AgentInfo) -> bool:
        wanted = (
            (self.roles, a.role),
            (self.teams, a.team),
            (self.agents, a.agent),
            (self.employers, a.employer),
            (self.shops, a.shop),
        )
        return all(not values or have in values for values, have in wanted)


class Base(_Model):
    """底薪: the fixed monthly pay."""

    amount: Money = Field(Decimal(0), description="monthly base pay, yuan")
    prorate: bool = Field(False, description="pay amount × working_days / scheduled_days from the imported attendance")


class Limits(_Model):
    """绩效封顶/保底 on the performance pay (everything but the base); the difference is its own line."""

    cap: Money | None = Field(None, description="performance pay at most this (封顶)")
    floor: Money | None = Field(None, description="performance pay at least this (保底); may be negative")


class _Component(_Model):
    name: str = Field(description="shown on the payslip; unique within the scheme")
    note: str = Field("", description="free text shown with the rule")
    cap: Money | None = Field(None, description="this component at most this amount")
    floor: Money | None = Field(None, description="this component at least this amount")

    @model_validator(mode="after")
    def _limits(self):
        if self.cap is not None and self.floor is not None and self.cap < self.floor:
            raise ValueError(f"cap {self.cap} is below floor {self.floor}")
        return self


class Tier(_Model):
    from_: Money = Field(alias="from", description="sales from which this rate applies (marginal)")
    rate: Number = Field(description='0.015 or "1.5%"')

    @field_validator("rate")
    @classmethod
    def _rate(cls, rate: Decimal) -> Decimal:
        if not 0 <= rate <= 1:
            raise ValueError(f'rate {rate} must be between 0 and 1 (write 0.015 or "1.5%")')
        return rate


class Commission(_Component):
    """提成: a rate on credited sales (客服销售额), optionally net of refunds; tiers are marginal
    (each rate applies to the part of sales within its band), so commission never falls when sales rise."""

    kind: Literal["commission"]
    rate: Number | None = Field(None, description="one rate on all sales; or give tiers")
    tiers: list[Tier] | None = Field(None, description="[{from = 0, rate = 0.01}, {from = 100000, rate = 0.015}]")
    net_of_refunds: bool = Field(False, description="subtract counted refunds of credited orders finished in the month")

    @model_validator(mode="after")
    def _one_way(self) -> Commission:
        if (self.rate is None) == (self.tiers is None):
            raise ValueError("give either rate or tiers")
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ValueError(f'rate {self.rate} must be between 0 and 1 (write 0.01 or "1%")')
        if self.tiers is not None:
            starts = [t.from_ for t in self.tiers]
            if not starts or starts[0] != 0:
                raise ValueError("the first tier must start at from = 0")
            if any(b <= a for a, b in pairwise(starts)):
                raise ValueError("tiers must be in increasing order of from")
        return self

    @property
    def bands(self) -> list[Tier]:
        return self.tiers if self.tiers is not None else [Tier(**{"from": 0, "rate": self.rate})]


class ScoredKPI(_Model):
    kpi: MeasureKey = Field(description="a KPI key (reply_rate, avg_response_s, …) or a pay input (test_score, …)")
    worst: Number = Field(description="value scoring 0")
    best: Number = Field(description="value scoring the full weight; may be below worst (times: 30 s → 5 s)")
    weight: Number = Field(description="share of the component's amount, > 0")

    @model_validator(mode="after")
    def _range(self) -> ScoredKPI:
        if self.worst == self.best:
            raise ValueError(f"worst and best of {self.kpi} are both {self.best}")
        if self.weight <= 0:
            raise ValueError("weight must be above 0")
        _check_unit(self.kpi, self.worst, "worst")
        _check_unit(self.kpi, self.best, "best")
        return self


class KpiScore(_Component):
    """KPI 考核: each KPI scored linearly from worst (0) to best (its weight), clamped;
    money = amount × Σ points / Σ weights. An undefined KPI (no data) scores 0."""

    kind: Literal["kpi_score"]
    amount: Money = Field(description="money at the full score")
    kpis: list[ScoredKPI] = Field(min_length=1, description="[[components.kpis]] tables")


Op = Literal[">=", "<=", ">", "<", "=="]


class Condition(_Model):
    kpi: MeasureKey = Field(description="what is tested")
    op: Op = Field(description=">=, <=, >, < or ==")
    value: Target = Field(
        description='a number, "shop" (the shop\'s own figure for the month) or "target" (the monthly target)'
    )

    @model_validator(mode="after")
    def _standard(self) -> Condition:
        if isinstance(self.value, str) and self.kpi not in KPI_KEYS:
            raise ValueError(f"value = {self.value!r} needs a KPI; {self.kpi} is a pay input")
        if isinstance(self.value, Decimal):
            _check_unit(self.kpi, self.value, "value")
        return self


class Threshold(_Component):
    """达标奖/扣罚: when every condition holds, add (or with a negative number, deduct)
    a percentage of the base or a fixed amount."""

    kind: Literal["threshold"]
    when: list[Condition] = Field(min_length=1, description='[{kpi = "complaints", op = ">=", value = 3}]')
    percent_of_base: Number | None = Field(None, description="20 = +20 % of the base pay; -10 = −10 %")
    amount: Money | None = Field(None, description="a fixed amount instead (negative = deduction)")

    @model_validator(mode="after")
    def _one_way(self) -> Threshold:
        if (self.percent_of_base is None) == (self.amount is None):
            raise ValueError("give either percent_of_base or amount")
        return self


class Pool(_Component):
    """减分制 (after-sales): a monthly pool shared by working days among the agents the scheme pays,
    minus a fixed deduction per confirmed QC error and per complaint; not below floor (default 0)."""

    kind: Literal["pool"]
    pool: Money = Field(description="the month's pool, yuan")
    shared_within: Literal["scheme", "shop", "team"] = Field("scheme", description="whose working days share one pool")
    per_qc_error: Money = Field(Decimal(0), description="deducted per confirmed QC error")
    per_complaint: Money = Field(Decimal(0), description="deducted per complaint")
    floor: Money | None = Field(Decimal(0), description="the component at least this (default 0)")


class Ranking(_Component):
    """排名奖: agents ranked by a KPI among the scheme's agents; prizes[0] for 1st, … Ties share the rank
    (1, 2, 2, 4); agents with no value or failing `when` are not ranked."""

    kind: Literal["ranking"]
    kpi: MeasureKey = Field(description="ranked in its better direction")
    prizes: list[Money] = Field(min_length=1, description="[800, 500, 300]")
    within: Literal["scheme", "shop", "team"] = Field("scheme", description="who competes")
    when: list[Condition] = Field([], description="conditions to be ranked at all (e.g. consult_buyers >= 100)")
    higher_is_better: bool | None = Field(None, description="override the KPI's direction (needed when it has none)")

    @model_validator(mode="after")
    def _direction(self) -> Ranking:
        if self.higher_is_better is None and MEASURES[self.kpi].higher_is_better is None:
            raise ValueError(f"{self.kpi} has no better direction; set higher_is_better")
        return self

    @property
    def better_high(self) -> bool:
        return self.higher_is_better if self.higher_is_better is not None else bool(MEASURES[self.kpi].higher_is_better)


class Prizes(_Component):
    """奖励: the prizes imported for the month (`kefu pay import --kind prizes`), summed."""

    kind: Literal["prizes"]


class MutualFund(_Component):
    """互查基金: the agent's 互查 fund left at the end of the month (kefu.qc.ledger: `[qc.mutual] fund` of kefu.toml
    minus the cost of each error a colleague reported or QC found, never below 0; the whole fund in a warning-only
    month). An agent with no fund that month (no message, no error) gets 0. The fund and the costs are set in
    kefu.toml `[qc.mutual]` for the whole workspace, not here."""

    kind: Literal["mutual_fund"]


Component = Annotated[
    Commission | KpiScore | Threshold | Pool | Ranking | Prizes | MutualFund, Field(discriminator="kind")
]
COMPONENT_KINDS = (Commission, KpiScore, Threshold, Pool, Ranking, Prizes, MutualFund)
#: keys of kefu.toml `[qc.mutual]`, which a `mutual_fund` component does not take (the fund is the workspace's)
MUTUAL_SETTINGS = ("fund", "error_cost", "supervisor_multiplier", "warning_only_months")


class Scheme(_Model):
    """One version of a scheme; the file is `<workspace>/schemes/<anything>.toml`."""

    name: str = Field(description='the scheme\'s identity across versions, e.g. "售前"')
    effective_from: str = Field(description="YYYY-MM: the first month this version pays")
    description: str = Field("", description="free text")
    applies_to: AppliesTo = Field(description="who the scheme pays: `[applies_to]` below")
    base: Base = Field(Base(), description="`[base]` below; no base pay when left out")
    components: list[Component] = Field(
        [], description="`[[components]]`, one table each, shown on the payslip in this order"
    )
    limits: Limits = Field(Limits(), description="`[limits]` below")
    source: str = Field("", exclude=True, description="(set by the loader) the file")
    digest: str = Field("", exclude=True, description="(set by the loader) sha1 of the text")

    @field_validator("effective_from")
    @classmethod
    def _month(cls, month: str) -> str:
        return str(Month.parse(month))  # MonthError is a ValueError: pydantic reports it at the key

    @model_validator(mode="after")
    def _unique_names(self) -> Scheme:
        names = [c.name for c in self.components]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"component names must be unique: {', '.join(twice)}")
        if "基本工资" in names:
            raise ValueError("基本工资 is the base pay's line; name the component differently")
        funds = [f"components[{i}] ({c.name})" for i, c in enumerate(self.components, 1) if isinstance(c, MutualFund)]
        if len(funds) > 1:
            raise ValueError(
                f'{" and ".join(funds)} are both kind = "mutual_fund": the 互查 fund is paid once; keep one'
            )
        return self

    @property
    def label(self) -> str:
        return f"{self.name} ({self.effective_from})"


# -- reading ---------------------------------------------------------------------------


def parse_scheme(text: str, source: str = "scheme.toml") -> Scheme:
    """A scheme from TOML text, or SchemeError naming the file, line and key of every problem."""
    data = load(text, source, SchemeError, parse_float=Decimal)
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        raise SchemeError(_problems(exc, data, text, source)) from None
    return scheme.model_copy(update={"source": source, "digest": hashlib.sha1(text.encode()).hexdigest()[:12]})


def load_schemes(paths: Iterable[Path], base: Path | None = None) -> list[Scheme]:
    """Schemes from files and folders (a folder = its *.toml files); every problem of every file at once.
    With `base`, files are named relative to it (`schemes/presales.toml`) in messages."""
    schemes, problems = [], []
    for path in _files(paths):
        name = str(path.relative_to(base)) if base is not None and path.is_relative_to(base) else str(path)
        try:
            schemes.append(parse_scheme(path.read_text(encoding="utf-8"), name))
        except SchemeError as exc:
            problems += exc.problems
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
    if problems:
        raise SchemeError(problems)
    return schemes


def workspace_schemes(ws_path: Path | None, *, relative: bool = False) -> list[Scheme]:
    """The schemes saved in a workspace (`<ws>/schemes/*.toml`); none when there is no such folder.
    `relative` names them `schemes/<file>` (the web app does not show its folders)."""
    if ws_path is None or not (Path(ws_path) / SCHEMES_DIR).is_dir():
        return []
    return load_schemes([Path(ws_path) / SCHEMES_DIR], base=Path(ws_path) if relative else None)


def _files(paths: Iterable[Path]) -> list[Path]:
    out = []
    for path in map(Path, paths):
        if path.is_dir():
            out += sorted(path.glob("*.toml"))
        elif path.exists():
            out.append(path)
        else:
            raise SchemeError([f"{path}: no such scheme file"])
    return out


def select(schemes: Iterable[Scheme], month: str) -> list[Scheme]:
    """For each scheme name, the latest version effective in `month`."""
    by_name: dict[str, dict[str, Scheme]] = {}
    problems = []
    for s in schemes:
        versions = by_name.setdefault(s.name, {})
        if s.effective_from in versions:
            problems.append(
                f"{s.source}: scheme {s.name!r} effective_from {s.effective_from} is also defined in "
                f"{versions[s.effective_from].source}; give the new version a later month"
            )
        versions[s.effective_from] = s
    if problems:
        raise SchemeError(problems)
    chosen = []
    for name in sorted(by_name):
        effective = [m for m in by_name[name] if m <= month]
        if effective:
            chosen.append(by_name[name][max(effective)])
    return chosen


def assign(agents: Mapping[str, AgentInfo], schemes: list[Scheme]) -> dict[str, Scheme]:
    """The scheme paying each agent; an agent two schemes apply to is an error naming both."""
    found, problems = {}, []
    for agent, info in sorted(agents.items()):
        matching = [s for s in schemes if s.applies_to.matches(info)]
        if len(matching) > 1:
            problems.append(
                f"{agent} ({info.role}, {info.team or '—'}, {info.employer}) is paid by two schemes: "
                + " and ".join(f"{s.label} in {s.source}" for s in matching)
                + "; narrow applies_to so that one scheme pays each agent"
            )
        elif matching:
            found[agent] = matching[0]
    if problems:
        raise SchemeError(problems)
    return found


# -- error messages --------------------------------------------------------------------


def _problems(exc: ValidationError, data: dict, text: str, source: str) -> list[str]:
    lines = key_lines(text)
    out = []
    for err in exc.errors():
        path = _data_path(err["loc"], data)
        out.append(f"{where(source, lines, path)}: {_dotted(path) or '(top level)'}: {_message(err)}")
    return out


def _data_path(loc: tuple, data: Any) -> tuple:
    """pydantic's error location with the union tags removed, so it names keys of the TOML."""
    path, node = [], data
    for item in loc:
        if isinstance(node, dict) and item in _TAGS and item not in node:
            continue  # the union member's tag (commission, kpi_score, …), not a key
        if isinstance(item, str) and ("[" in item or "(" in item):
            continue  # pydantic's name of a union member or validator, not a key
        key = "from" if item == "from_" else item
        path.append(key)
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            node = None
    return tuple(path)


_TAGS = {"commission", "kpi_score", "threshold", "pool", "ranking", "prizes", "mutual_fund"}


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kinds() -> list[str]:
    """The components' `kind` tags, from their Literal annotations."""
    return [get_args(c.model_fields["kind"].annotation)[0] for c in COMPONENT_KINDS]


def _message(err: Mapping[str, Any]) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden" and "mutual_fund" in err["loc"] and err["loc"][-1] in MUTUAL_SETTINGS:
        return (
            "unknown key: the 互查 fund and what an error costs are set for the whole workspace in kefu.toml "
            f"[qc.mutual] ({', '.join(MUTUAL_SETTINGS)}), not in a scheme"
        )
    if kind == "extra_forbidden":
        return "unknown key (a typo? see docs/pay.md)"
    if kind == "missing":
        return "missing"
    if kind == "union_tag_not_found":
        return f"needs kind = one of {', '.join(_kinds())}"
    if kind == "union_tag_invalid":
        return f"unknown kind {err['input'].get('kind')!r}; kinds: " + ", ".join(_kinds())
    return msg.removeprefix("Value error, ")

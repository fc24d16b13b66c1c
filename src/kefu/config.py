"""Workspace configuration (`kefu.toml`) and the KPI parameters of spec §5.

`SETTINGS` is the one table of parameters: its defaults are the field defaults of `Params`, `Mutual` and `Web`
(`default`), its help is the help of the `kefu kpi` options and of the generated `kefu.toml`, and docs/config.md
is generated from it (tests/test_one_declaration.py, tests/test_docs.py). The type and bounds of a value are its
field's annotation; `load_config` validates the file with pydantic against those fields and names every problem
by file and line (kefu.tomlpos), as a pay scheme and the QC rule library are; a `Params` built in code
(`kefu kpi --slow-threshold -5`) is checked against the same annotations.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields, replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from kefu.errors import KefuError
from kefu.month import is_month
from kefu.tomlpos import key_lines, load, where


class CreditRule(str, Enum):
    """Who is 落实客服 (spec §4): order (下单判定), payment (付款判定) or order_first (下单优先)."""

    order = "order"
    payment = "payment"
    order_first = "order_first"


CREDIT_RULES = tuple(rule.value for rule in CreditRule)
API_DOCS = ("off", "signed_in", "public")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    section: str = "kpi"  # the kefu.toml table it lives in


SETTINGS = (
    Setting("slow_threshold_s", 60, "a reply slower than this many seconds is a 慢响应 (many shops use 15–30)"),
    Setting(
        "after_sales_days",
        15,
        "a buyer who paid an order in this many days before asking is after-sales, not an inquiry",
    ),
    Setting("attribution_hours", 72, "only chat messages at most this many hours before an order can win its credit"),
    Setting(
        "credit_rule",
        CreditRule.order_first.value,
        "who is 落实客服: order (下单判定), payment (付款判定) or order_first (下单优先)",
    ),
    Setting("fund", 100, "互查: each agent's fund at the start of a month, in yuan", "qc.mutual"),
    Setting("error_cost", 10, "互查: yuan one confirmed error costs", "qc.mutual"),
    Setting(
        "supervisor_multiplier",
        2,
        "互查: a confirmed QC finding that no peer reported costs error_cost × this",
        "qc.mutual",
    ),
    Setting(
        "warning_only_months",
        [],
        '互查: months ("YYYY-MM") whose costs are shown but not deducted, e.g. the first month',
        "qc.mutual",
    ),
    Setting(
        "trusted_proxies",
        [],
        "web: addresses or networks of reverse proxies whose X-Forwarded-For / -Proto is believed "
        "(none: the client address is the connection's)",
        "web",
    ),
    Setting(
        "api_docs", "signed_in", "web: who may read /docs, /redoc and /openapi.json: off, signed_in or public", "web"
    ),
)
SETTING = {s.name: s for s in SETTINGS}


def default(name: str) -> Any:
    """The default of setting `name` (a list as a tuple: the settings' dataclasses are frozen)."""
    value = SETTING[name].default
    return tuple(value) if isinstance(value, list) else value


class ConfigError(KefuError):
    """A configuration value is wrong; `problems` names each one's file, line, key and reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


# -- the types of the values: each checks its value and says what it must be ---------------------------------------


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a whole number ≥ 0, got {value!r}")
    return value


def _yuan(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or round(value, 2) != value:
        raise ValueError(f"must be a number ≥ 0 with at most two decimals, got {value!r}")
    return value


def _one_of(choices: tuple[str, ...]) -> BeforeValidator:
    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return choices[choices.index(value)]  # the text, also of a CreditRule

    return BeforeValidator(check)


def _months(value: Any) -> Any:
    if not isinstance(value, list | tuple) or not all(is_month(m) for m in value):
        raise ValueError(f'must be a list of "YYYY-MM", got {value!r}')
    return tuple(value)


def _networks(value: Any) -> Any:
    if not isinstance(value, list | tuple) or not all(isinstance(p, str) and _is_network(p) for p in value):
        raise ValueError(f'must be a list of IP addresses or networks ("10.0.0.5", "10.0.0.0/24"), got {value!r}')
    return tuple(value)


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


def _name(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a name, got {value!r}")
    return value


def _zone(value: Any) -> Any:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"must be an IANA time zone such as Asia/Shanghai, got {value!r}") from None
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
Yuan = Annotated[int | float, BeforeValidator(_yuan)]  # 100 stays 100 in a written kefu.toml
Months = Annotated[tuple[str, ...], BeforeValidator(_months)]
Networks = Annotated[tuple[str, ...], BeforeValidator(_networks)]
Name = Annotated[str, BeforeValidator(_name)]
Zone = Annotated[str, BeforeValidator(_zone)]


_FIELD_TYPES: dict[type, dict[str, TypeAdapter]] = {}  # each settings dataclass's fields, as pydantic checks them


def _field_types(cls: type) -> dict[str, TypeAdapter]:
    if cls not in _FIELD_TYPES:
        hints = get_type_hints(cls, include_extras=True)
        _FIELD_TYPES[cls] = {f.name: TypeAdapter(hints[f.name]) for f in fields(cls)}
    return _FIELD_TYPES[cls]


def _check(settings: Any, section: str) -> None:
    """Check (and normalise: lists become tuples) every value of a settings dataclass against its annotation."""
    problems = []
    for name, adapter in _field_types(type(settings)).items():
        try:
            object.__setattr__(settings, name, adapter.validate_python(getattr(settings, name)))
        except ValidationError as exc:
            problems += [f"[{section}] {name} {_reason(err)}" for err in exc.errors()]
    if problems:
        raise ConfigError(problems)


def _reason(err: Any) -> str:
    if err["type"] in ("missing", "missing_argument"):
        return "is missing"
    return str(err["msg"]).removeprefix("Value error, ")


# -- the settings, a table of kefu.toml each --------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    """The KPI parameters (spec §5), `[kpi]`."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    slow_threshold_s: WholeNumber = default("slow_threshold_s")
    after_sales_days: WholeNumber = default("after_sales_days")
    attribution_hours: WholeNumber = default("attribution_hours")
    credit_rule: Annotated[str, _one_of(CREDIT_RULES)] = default("credit_rule")

    def __post_init__(self) -> None:
        _check(self, "kpi")

    def override(self, **values: Any) -> Params:
        """A copy with the given values, ignoring the ones that are None (unset CLI options)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


@dataclass(frozen=True)
class Mutual:
    """互查 mutual-inspection fund settings (`[qc.mutual]`, docs/qc-review.md)."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    fund: Yuan = default("fund")
    error_cost: Yuan = default("error_cost")
    supervisor_multiplier: Yuan = default("supervisor_multiplier")
    warning_only_months: Months = default("warning_only_months")

    def __post_init__(self) -> None:
        _check(self, "qc.mutual")


@dataclass(frozen=True)
class Web:
    """`[web]`: what `kefu serve` trusts and shows (docs/security.md)."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    trusted_proxies: Networks = default("trusted_proxies")
    api_docs: Annotated[str, _one_of(API_DOCS)] = default("api_docs")

    def __post_init__(self) -> None:
        _check(self, "web")


@dataclass(frozen=True)
class Shop:
    """`[[shops]]`: a shop's name and time zone."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    name: Name
    timezone: Zone = "Asia/Shanghai"


@dataclass(frozen=True)
class Config:
    params: Params = Params()
    shops: tuple[Shop, ...] = ()
    mutual: Mutual = Mutual()
    web: Web = Web()


# -- kefu.toml -------------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _QcTables(_Model):
    mutual: Mutual = Mutual()


class _File(_Model):
    """The layout of kefu.toml; the tables are the dataclasses above."""

    kpi: Params = Params()
    qc: _QcTables = _QcTables()
    web: Web = Web()
    shops: list[Shop] = []


#: table path in kefu.toml -> its dataclass (whose fields are the table's keys)
TABLES: dict[tuple[str, ...], type] = {("kpi",): Params, ("qc", "mutual"): Mutual, ("web",): Web, ("shops",): Shop}


def load_config(path: Path) -> Config:
    """Read `kefu.toml`; a missing file means all defaults. ConfigError names every problem's line and key."""
    if not path.exists():
        return Config()
    text = path.read_text(encoding="utf-8")
    data = load(text, str(path), ConfigError)
    try:
        found = _File.model_validate(data)
    except ValidationError as exc:
        lines = key_lines(text)
        raise ConfigError([f"{where(str(path), lines, err['loc'])}: {_problem(err)}" for err in exc.errors()]) from None
    return Config(found.kpi, tuple(found.shops), found.qc.mutual, found.web)


def _problem(err: Any) -> str:
    """A pydantic error of kefu.toml as the table, the key and what is wrong with it."""
    loc = tuple(err["loc"])
    for table, cls in TABLES.items():
        if loc[: len(table)] != table:
            continue
        rest = loc[len(table) :]
        if table == ("shops",):
            if not rest:
                return "[[shops]] must be tables ([[shops]] with name and timezone)"
            head, rest = f"[[shops]] #{int(rest[0]) + 1}", rest[1:]
        else:
            head = f"[{'.'.join(table)}]"
        if not rest:
            return f"{head} must be a table"
        known = ", ".join(f.name for f in fields(cls))
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            return f"{head} unknown key {rest[0]!r} (known: {known})"
        return f"{head} {rest[0]} {_reason(err)}"
    name = ".".join(map(str, loc))
    if err["type"] == "extra_forbidden":
        return f"unknown table [{name}] (known: {', '.join('.'.join(t) for t in TABLES)})"
    return f"[{name}] must be a table"


def render_config(config: Config) -> str:
    """The text of a `kefu.toml`, every parameter written out with its help."""
    lines = ["# kefu workspace configuration (docs/config.md)"]
    for section, values in (("kpi", config.params), ("qc.mutual", config.mutual), ("web", config.web)):
        lines += ["", f"[{section}]"]
        for s in SETTINGS:
            if s.section == section:
                lines += [f"# {s.help} (default {s.default!r})", f"{s.name} = {_toml_value(getattr(values, s.name))}"]
    for shop in config.shops:
        lines += ["", "[[shops]]", f"name = {_toml_value(shop.name)}", f"timezone = {_toml_value(shop.timezone)}"]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return f'"{value}"' if isinstance(value, str) else str(value)

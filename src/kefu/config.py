"""Workspace configuration (`kefu.toml`) and the KPI parameters of spec §5.

`SETTINGS` is the one table of parameters: it feeds `Params`, the CLI
options, the generated `kefu.toml` and docs/config.md (checked by a test).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kefu.errors import KefuError

CREDIT_RULES = ("order", "payment", "order_first")


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
        "credit_rule", "order_first", "who is 落实客服: order (下单判定), payment (付款判定) or order_first (下单优先)"
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
API_DOCS = ("off", "signed_in", "public")


class ConfigError(KefuError):
    """A configuration value is wrong; the message names the file, key and reason."""


@dataclass(frozen=True)
class Params:
    """The KPI parameters (spec §5)."""

    slow_threshold_s: int = 60
    after_sales_days: int = 15
    attribution_hours: int = 72
    credit_rule: str = "order_first"

    def __post_init__(self) -> None:
        problems = param_problems(vars(self))
        if problems:
            raise ConfigError("; ".join(problems))

    def override(self, **values: Any) -> Params:
        """A copy with the given values, ignoring the ones that are None (unset CLI options)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def param_problems(values: dict[str, Any]) -> list[str]:
    """Every problem with a set of parameter values (all of them, not just the first)."""
    problems = []
    known = {f.name for f in fields(Params)}
    for key in values.keys() - known:
        problems.append(f"unknown parameter {key!r} (known: {', '.join(sorted(known))})")
    for key in ("slow_threshold_s", "after_sales_days", "attribution_hours"):
        value = values.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"{key} must be a whole number ≥ 0, got {value!r}")
    if values.get("credit_rule", "order_first") not in CREDIT_RULES:
        problems.append(f"credit_rule must be one of {', '.join(CREDIT_RULES)}, got {values['credit_rule']!r}")
    return problems


@dataclass(frozen=True)
class Mutual:
    """互查 mutual-inspection fund settings (`[qc.mutual]`, docs/qc-review.md)."""

    fund: float = 100
    error_cost: float = 10
    supervisor_multiplier: float = 2
    warning_only_months: tuple[str, ...] = ()


def mutual_problems(values: dict[str, Any]) -> list[str]:
    """Every problem with a `[qc.mutual]` table."""
    known = {f.name for f in fields(Mutual)}
    problems = [f"[qc.mutual] unknown key {k!r} (known: {', '.join(sorted(known))})" for k in values.keys() - known]
    for key in ("fund", "error_cost", "supervisor_multiplier"):
        value = values.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or round(value, 2) != value:
            problems.append(f"[qc.mutual] {key} must be a number ≥ 0 with at most two decimals, got {value!r}")
    months = values.get("warning_only_months", [])
    if not isinstance(months, list) or not all(isinstance(m, str) and _is_month(m) for m in months):
        problems.append(f'[qc.mutual] warning_only_months must be a list of "YYYY-MM", got {months!r}')
    return problems


def _is_month(text: str) -> bool:
    try:
        return len(text) == 7 and bool(dt.date.fromisoformat(text + "-01"))
    except ValueError:
        return False


@dataclass(frozen=True)
class Web:
    """`[web]`: what `kefu serve` trusts and shows (docs/security.md)."""

    trusted_proxies: tuple[str, ...] = ()
    api_docs: str = "signed_in"


def web_problems(values: dict[str, Any]) -> list[str]:
    """Every problem with a `[web]` table."""
    known = {f.name for f in fields(Web)}
    problems = [f"[web] unknown key {k!r} (known: {', '.join(sorted(known))})" for k in values.keys() - known]
    proxies = values.get("trusted_proxies", [])
    if not isinstance(proxies, list) or not all(isinstance(p, str) and _is_network(p) for p in proxies):
        problems.append(
            f'[web] trusted_proxies must be a list of IP addresses or networks ("10.0.0.5", "10.0.0.0/24"), got {proxies!r}'
        )
    if values.get("api_docs", "signed_in") not in API_DOCS:
        problems.append(f"[web] api_docs must be one of {', '.join(API_DOCS)}, got {values['api_docs']!r}")
    return problems


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class Shop:
    name: str
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Config:
    params: Params = Params()
    shops: tuple[Shop, ...] = ()
    mutual: Mutual = Mutual()
    web: Web = Web()


def load_config(path: Path) -> Config:
    """Read `kefu.toml`; a missing file means all defaults."""
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    problems = param_problems(data.get("kpi", {}))
    mutual = data.get("qc", {}).get("mutual", {})
    problems += mutual_problems(mutual)
    web = data.get("web", {})
    problems += web_problems(web)
    shops = []
    for i, raw in enumerate(data.get("shops", [])):
        if not isinstance(raw, dict) or not raw.get("name"):
            problems.append(f"[[shops]] #{i + 1} needs a name")
            continue
        tz = raw.get("timezone", "Asia/Shanghai")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"[[shops]] {raw['name']!r}: unknown timezone {tz!r}")
        shops.append(Shop(raw["name"], tz))
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    mutual = {**mutual, "warning_only_months": tuple(mutual.get("warning_only_months", ()))}
    web = {**web, "trusted_proxies": tuple(web.get("trusted_proxies", ()))}
    return Config(Params(**data.get("kpi", {})), tuple(shops), Mutual(**mutual), Web(**web))


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

"""Workspace configuration (`kefu.toml`) and the KPI parameters of spec §5.

`SETTINGS` is the one table of parameters: it feeds `Params`, the CLI
options, the generated `kefu.toml` and docs/config.md (checked by a test).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CREDIT_RULES = ("order", "payment", "order_first")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS = (
    Setting("slow_threshold_s", 60, "a reply slower than this many seconds is a 慢响应 (many shops use 15–30)"),
    Setting("after_sales_days", 15, "a buyer who paid an order in this many days before asking is after-sales, not an inquiry"),
    Setting("attribution_hours", 72, "only chat messages at most this many hours before an order can win its credit"),
    Setting("credit_rule", "order_first", "who is 落实客服: order (下单判定), payment (付款判定) or order_first (下单优先)"),
)


class ConfigError(ValueError):
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
class Shop:
    name: str
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class Config:
    params: Params = Params()
    shops: tuple[Shop, ...] = ()


def load_config(path: Path) -> Config:
    """Read `kefu.toml`; a missing file means all defaults."""
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    problems = param_problems(data.get("kpi", {}))
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
    return Config(Params(**data.get("kpi", {})), tuple(shops))


def render_config(config: Config) -> str:
    """The text of a `kefu.toml`, every parameter written out with its help."""
    lines = ["# kefu workspace configuration (docs/config.md)", "", "[kpi]"]
    for s in SETTINGS:
        value = getattr(config.params, s.name)
        lines += [f"# {s.help} (default {s.default!r})", f"{s.name} = {_toml_value(value)}"]
    for shop in config.shops:
        lines += ["", "[[shops]]", f"name = {_toml_value(shop.name)}", f"timezone = {_toml_value(shop.timezone)}"]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)

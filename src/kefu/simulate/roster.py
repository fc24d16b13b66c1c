"""The shop's customer-service accounts (子账号) and their hidden traits.

The traits (speed, skill, reliability) are not written anywhere; they only
shape the generated data, so the metrics have real differences to find:
vendor (外包) agents answer slower and convert a little worse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PRESALES, AFTERSALES, REFUND, BOT = "presales", "aftersales", "refund", "bot"
BOT_NAME = "店小蜜"
VENDORS = ("杭州优服外包", "宿迁云客服")

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_A_NAMES = "珍强美芳杰丽娟华琴明敏霞玲萍"
_NUMERALS = "一二三四五六七八九十"
_GIVEN = [
    "晓燕",
    "丽娜",
    "思琪",
    "雨欣",
    "佳怡",
    "梦瑶",
    "静怡",
    "子涵",
    "欣然",
    "诗雨",
    "婉清",
    "若曦",
    "可欣",
    "雅婷",
    "梓萱",
    "心怡",
    "嘉欣",
    "语嫣",
    "晨曦",
    "安琪",
]


@dataclass(frozen=True)
class Roster:
    """Agents as parallel arrays; the bot is the last account."""

    table: pd.DataFrame  # the agents.csv rows, bot last
    role: np.ndarray  # role per account (str)
    leave_day: np.ndarray  # day index the agent left (days = still active)
    median_reply_s: np.ndarray  # typical seconds to answer
    slow_share: np.ndarray  # share of answers that take minutes (heavy tail)
    unanswered_share: np.ndarray  # share of dialogues whose last question stays open
    conversion: np.ndarray  # share of inquiries that end in a paid order

    @property
    def bot(self) -> int:
        return len(self.table) - 1

    def ids(self) -> np.ndarray:
        return self.table["agent"].to_numpy()


def _names(n: int, rng: np.random.Generator) -> list[str]:
    """n unique given names in the style shops use (小王, 阿珍, 晓燕)."""
    pool = [f"小{s}" for s in _SURNAMES] + [f"阿{c}" for c in _A_NAMES] + _GIVEN
    pool = [pool[i] for i in rng.permutation(len(pool))]
    # Bigger teams than the pool: number the names the way shops do (小王2).
    return [pool[i % len(pool)] + (str(i // len(pool) + 1) if i >= len(pool) else "") for i in range(n)]


def role_counts(n: int) -> tuple[int, int, int]:
    """Pre-sales are the majority; after-sales and refunds need at least 2-3 agents."""
    presales = max(1, round(0.6 * n))
    aftersales = min(n - presales, max(1, round(0.25 * n))) if n >= 2 else 0
    return presales, aftersales, n - presales - aftersales


def _teams(role: str, count: int) -> tuple[list[str], list[str]]:
    """Team and employer of each of the `count` agents of a role."""
    if role == PRESALES:
        # Groups of at most 8; from 4 agents on there are two, and every
        # second group is the outsourced one (the usual set-up of a 天猫 shop).
        groups = max(2 if count >= 4 else 1, -(-count // 8))
        group = [j * groups // count for j in range(count)]
        return (
            [f"售前{_NUMERALS[g % 10]}组" for g in group],
            [VENDORS[0] if g % 2 == 1 else "in_house" for g in group],
        )
    if role == AFTERSALES:
        vendor = count // 3 if count >= 3 else 0
        return ["售后组"] * count, ["in_house"] * (count - vendor) + [VENDORS[1]] * vendor
    return ["退款组"] * count, ["in_house"] * count


def build_roster(shop: str, n_agents: int, days: int, rng: np.random.Generator) -> Roster:
    n_pre, n_after, n_ref = role_counts(n_agents)
    roles, teams, employers = [], [], []
    for kind, count in ((PRESALES, n_pre), (AFTERSALES, n_after), (REFUND, n_ref)):
        t, e = _teams(kind, count)
        roles += [kind] * count
        teams += t
        employers += e
    names = _names(n_agents, rng)
    role = np.array(roles + [BOT], dtype=object)
    vendor = np.array([e != "in_house" for e in employers] + [False])

    leave_day = np.full(n_agents + 1, days, dtype=np.int64)
    # A couple of pre-sales agents left during the period (staff turnover);
    # only from a team big enough that the shop keeps running.
    n_leavers = 2 if n_pre >= 8 else (1 if n_pre >= 4 else 0)
    if n_leavers and days >= 4:
        leavers = rng.choice(n_pre, size=n_leavers, replace=False)
        leave_day[leavers] = rng.integers(max(1, days // 3), max(2, 2 * days // 3), size=n_leavers)

    table = pd.DataFrame(
        {
            "agent": [f"{shop}:{name}" for name in names] + [f"{shop}:{BOT_NAME}"],
            "name": names + [BOT_NAME],
            "shop": shop,
            "team": teams + ["智能客服"],
            "role": list(role),
            "employer": employers + ["in_house"],
            "active": np.where(leave_day < days, "false", "true"),
        }
    )
    n = n_agents + 1
    return Roster(
        table=table,
        role=role,
        leave_day=leave_day,
        median_reply_s=np.where(vendor, rng.uniform(28, 45, n), rng.uniform(9, 20, n)),
        slow_share=np.where(vendor, rng.uniform(0.10, 0.16, n), rng.uniform(0.03, 0.07, n)),
        unanswered_share=np.where(vendor, rng.uniform(0.05, 0.09, n), rng.uniform(0.01, 0.04, n)),
        conversion=np.where(vendor, rng.uniform(0.46, 0.60, n), rng.uniform(0.55, 0.72, n)),
    )

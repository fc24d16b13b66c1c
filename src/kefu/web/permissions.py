"""Who may see what: the one place where roles are turned into rights.

Routes declare what they need as dependencies: `dependencies=[may("overview")]` (403 unless the role may),
and kefu.web.common's `VisibleAgent` / `VisibleShop` parameters for the agent or shop of the request (404 for
an unknown agent, 403 outside the user's scope; the message never says more than the request did). Code that
finds its subject in the data calls `require`, `require_agent` and `require_shop` itself; lists are filtered
with `visible_agents`. The rules (kefu.users.ROLES explains them in words):
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException

from kefu.users import User
from kefu.web.auth import CurrentUser

#: action -> roles allowed to perform it (the scope of agents is checked separately).
RULES: dict[str, frozenset[str]] = {
    "overview": frozenset({"admin", "manager"}),
    "leaderboard": frozenset({"admin", "manager", "agent", "vendor"}),
    "agent": frozenset({"admin", "manager", "agent", "vendor"}),
    "chats": frozenset({"admin", "manager", "qc", "agent", "vendor"}),
    "heatmap": frozenset({"admin", "manager"}),
    "losses": frozenset({"admin", "manager", "vendor"}),
    "export": frozenset({"admin", "manager", "vendor"}),
    "report": frozenset({"admin", "manager"}),
    "targets": frozenset({"admin", "manager"}),
    "targets_edit": frozenset({"admin", "manager"}),
    "users": frozenset({"admin"}),
    "audit": frozenset({"admin"}),
    # quality inspection (docs/qc-review.md): supervisors review and decide; agents and vendors read feedback
    "qc_review": frozenset({"admin", "manager", "qc"}),
    "qc_rules": frozenset({"admin", "manager", "qc"}),
    "qc_ledger": frozenset({"admin", "manager", "qc"}),
    "qc_feedback": frozenset({"admin", "manager", "qc", "agent", "vendor"}),
    "qc_public": frozenset({"admin", "manager", "qc", "agent"}),
    "qc_report": frozenset({"admin", "manager", "qc", "agent"}),
    # performance pay (docs/pay.md): agents see their own payslip, vendors their agents' and their settlement
    "pay": frozenset({"admin", "manager", "agent", "vendor"}),
    "pay_payroll": frozenset({"admin", "manager"}),
    "pay_settlement": frozenset({"admin", "manager", "vendor"}),
    "pay_schemes": frozenset({"admin", "manager"}),
    "pay_schemes_edit": frozenset({"admin", "manager"}),
}


def home_page(user: User) -> str:
    """Where the logo and a login without `next` lead: the first page the role may open."""
    if allowed(user, "overview"):
        return "/"
    if user.role == "agent":
        return f"/agents/{quote(user.agent or '', safe='')}"
    return "/leaderboard" if allowed(user, "leaderboard") else "/chats"


def allowed(user: User, action: str) -> bool:
    return user.role in RULES[action]


def require(user: User, action: str) -> None:
    if not allowed(user, action):
        raise HTTPException(403, f"role {user.role} may not use {action}")


def may(action: str) -> Any:
    """A route dependency (`dependencies=[may("overview")]`): 403 unless the signed-in user's role may `action`."""

    def allowed_to(user: CurrentUser) -> None:
        require(user, action)

    return Depends(allowed_to)


def can_see_shop(user: User, shop: str) -> bool:
    return user.role == "admin" or shop in user.shops


def can_see_agent(user: User, agent: str, agents: dict[str, dict]) -> bool:
    info = agents.get(agent)
    if info is None:
        return False
    if user.role == "admin":
        return True
    if info["shop"] not in user.shops:
        return False
    if user.role in ("manager", "qc"):
        return True
    if user.role == "agent":
        return agent == user.agent
    if user.role == "vendor":
        return info["employer"] == user.employer
    return False


def visible_agents(user: User, agents: dict[str, dict]) -> set[str]:
    return {a for a in agents if can_see_agent(user, a, agents)}


def require_agent(user: User, agent: str, agents: dict[str, dict]) -> None:
    if not can_see_agent(user, agent, agents):
        raise HTTPException(404 if agent not in agents else 403, f"agent {agent} is not visible to {user.name}")


def require_shop(user: User, shop: str) -> None:
    if not can_see_shop(user, shop):
        raise HTTPException(403, f"shop {shop} is not visible to {user.name}")


def ranking_peers(user: User, shop: str, agents: dict[str, dict]) -> set[str]:
    """Agents listed in the leaderboard: an agent sees their whole shop (names maybe hidden); others their scope."""
    if user.role == "agent":
        return {a for a, i in agents.items() if i["shop"] == shop and shop in user.shops}
    return {a for a in visible_agents(user, agents) if agents[a]["shop"] == shop}

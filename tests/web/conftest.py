"""A simulated shop served in-process (httpx through Starlette's TestClient), and users of every role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kefu.ingest.pipeline import import_paths
from kefu.simulate import simulate
from kefu.users import add_user
from kefu.workspace import Workspace
from tests.web.live import chromium, serving

SHOP = "云裳女装旗舰店"
PASSWORD = "s3cret-pass"


@dataclass(frozen=True)
class World:
    path: Path
    own: str  # the `agent` user's account (in-house)
    colleague: str  # another in-house agent
    vendor_agent: str  # employed by VENDOR
    other_vendor_agent: str  # employed by another vendor
    vendor: str
    day: dt.date


def build_workspace(root: Path, *, agents: int = 12, days: int = 10, seed: int = 2) -> Path:
    data, ws_path = root / "data", root / "ws"
    simulate(data, agents=agents, days=days, seed=seed)
    ws = Workspace.open(ws_path, create=True)
    import_paths(ws, [data])
    ws.close()
    return ws_path


def make_world(root: Path) -> World:
    """The simulated shop with a user of every role (a test module that must see no other module's writes builds its own)."""
    path = build_workspace(root)
    ws = Workspace.open(path)
    rows = ws.con.execute("SELECT agent, employer FROM agents WHERE role = 'presales' ORDER BY agent").fetchall()
    in_house = [a for a, e in rows if e == "in_house"]
    vendors = {}
    for a, e in ws.con.execute(
        "SELECT agent, employer FROM agents WHERE employer <> 'in_house' ORDER BY employer DESC, agent"
    ).fetchall():
        vendors.setdefault(e, a)
    (vendor, vendor_agent), (_, other_vendor_agent) = list(vendors.items())[:2]
    day = ws.con.execute("SELECT max(ts)::DATE FROM messages").fetchone()[0]
    for name, role, kw in [
        ("boss", "admin", {}),
        ("小萍", "manager", {"shops": [SHOP]}),
        ("manager_elsewhere", "manager", {"shops": ["别的店"]}),
        ("质检", "qc", {"shops": [SHOP]}),
        ("agent_user", "agent", {"shops": [SHOP], "agent": in_house[0]}),
        ("vendor_user", "vendor", {"shops": [SHOP], "employer": vendor}),
    ]:
        add_user(ws.con, name=name, role=role, password=PASSWORD, **kw)
    ws.close()
    return World(path, in_house[0], in_house[1], vendor_agent, other_vendor_agent, vendor, day)


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> World:
    return make_world(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def app(world):
    from kefu.web.app import create_app

    application = create_app(world.path, secure_cookies=True)
    yield application
    application.state.store.close()


def login(app, name: str | None, password: str = PASSWORD) -> TestClient:
    """A client logged in as `name` (None: anonymous), holding the CSRF cookie."""
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    client.get("/login")
    if name is not None:
        r = client.post("/api/session", json={"name": name, "password": password}, headers=csrf(client))
        assert r.status_code == 200, r.text
    return client


def csrf(client: TestClient) -> dict:
    return {"X-CSRF-Token": client.cookies.get("kefu_csrf")}


@pytest.fixture(scope="session")
def clients(app) -> dict[str, TestClient]:
    return login_every_role(app)


def login_every_role(app) -> dict[str, TestClient]:
    names = {
        "admin": "boss",
        "manager": "小萍",
        "manager_elsewhere": "manager_elsewhere",
        "qc": "质检",
        "agent": "agent_user",
        "vendor": "vendor_user",
        "anonymous": None,
    }
    return {role: login(app, name) for role, name in names.items()}


@pytest.fixture(scope="module")
def server(app):
    """The app served on 127.0.0.1 for a module's browser tests (a module with an app of its own overrides `server`)."""
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test of the session."""
    with chromium() as b:
        yield b

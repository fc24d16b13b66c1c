"""The server keeps no hold on kefu.duckdb: every CLI command works while it runs, imports show up without a restart,
and the server's own writes wait for a file another process holds (or answer 503), losing nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from kefu import api
from kefu.derive import cube_is_current
from kefu.ingest.pipeline import import_paths
from kefu.targets import load
from kefu.users import add_user, audit_log
from kefu.web.store import Store
from kefu.workspace import DB_FILE, Workspace, connect
from tests.web.conftest import PASSWORD, csrf, login
from tests.web.test_api import AGENTS, MESSAGES, ORDERS

# One more buyer for bob on 11-11, answered: the shop's 咨询人数 that day goes from 2 to 3.
MORE_MESSAGES = """\
ts,shop,buyer,agent,sender,text
2026-11-11 15:00:00,s,b5,s:bob,buyer,有现货吗
2026-11-11 15:00:40,s,b5,s:bob,agent,有的亲
"""
ENV = {**os.environ, "KEFU_LOCK_WAIT": "20"}


def hand_workspace(root: Path) -> Path:
    data = root / "data"
    data.mkdir(parents=True)
    for name, text in (("messages", MESSAGES), ("orders", ORDERS), ("agents", AGENTS)):
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    ws = Workspace.open(root / "ws", create=True)
    import_paths(ws, [data])
    add_user(ws.con, name="m", role="manager", password=PASSWORD, shops=["s"])
    ws.close()
    return root / "ws"


def kefu(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kefu.cli.main", *args],
        capture_output=True,
        text=True,
        env=ENV,
        input=input,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(check, seconds: float = 30.0):
    """Poll `check` until it returns something truthy; its last value is returned (the test asserts on it)."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def http_login(base: str, name: str, password: str) -> tuple[httpx.Client, int]:
    c = httpx.Client(base_url=base, timeout=30)
    c.get("/login")
    r = c.post(
        "/api/session", json={"name": name, "password": password}, headers={"X-CSRF-Token": c.cookies["kefu_csrf"]}
    )
    return c, r.status_code


def consult_buyers(client: httpx.Client) -> int | None:
    o = client.get("/api/overview", params={"date": "2026-11-11"}).json()
    return next(f["day"] for f in o["figures"] if f["metric"] == "consult_buyers")


@pytest.fixture
def served(tmp_path):
    """`kefu serve` in its own process (as a user runs it), checking the file every 0.3 s."""
    ws = hand_workspace(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kefu.cli.main",
            "serve",
            str(ws),
            "--port",
            str(port),
            "--insecure-cookies",
            "--check-every",
            "0.3",
        ],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return httpx.get(f"{base}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert eventually(up, 90), proc.stdout.read() if proc.poll() is not None else "server did not start"
        yield ws, base
    finally:
        proc.terminate()
        proc.wait(20)


def test_cli_commands_work_while_serving_and_imports_show_without_restart(served, tmp_path):
    ws, base = served
    manager, status = http_login(base, "m", PASSWORD)
    assert status == 200 and consult_buyers(manager) == 2

    more = tmp_path / "more"
    more.mkdir()
    (more / "messages.csv").write_text(MORE_MESSAGES, encoding="utf-8")
    imported = kefu("import", str(ws), str(more))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert eventually(lambda: consult_buyers(manager) == 3), "the server did not pick up the import"
    assert manager.get("/api/health").json()["reloads"] >= 1

    kpi = kefu("kpi", str(ws), "--by", "shop,day", "--format", "json")
    assert kpi.returncode == 0 and '"consult_buyers": 3' in kpi.stdout.replace(
        '"consult_buyers":3', '"consult_buyers": 3'
    )
    report = kefu("report", "daily", str(ws), "--date", "2026-11-11", "--xlsx", str(tmp_path / "日报.xlsx"))
    assert report.returncode == 0, report.stderr
    assert kefu("explain", str(ws), "--agent", "s:bob", "--day", "2026-11-11").returncode == 0

    # a web write while serving lands in the file, and a CLI read sees it
    target = [
        {"month": "2026-11", "shop": "s", "scope": "shop", "subject": "s", "metric": "sales_amount", "value": 1000}
    ]
    assert (
        manager.post("/api/targets", json=target, headers={"X-CSRF-Token": manager.cookies["kefu_csrf"]}).status_code
        == 200
    )
    con = connect(ws / DB_FILE, read_only=True)
    try:
        assert [(t.metric, t.value) for t in load(con)] == [("sales_amount", 1000.0)]
    finally:
        con.close()

    # a user added from the CLI can log in without a restart
    added = kefu("user", "add", str(ws), "--name", "late", "--role", "manager", "--shop", "s")
    assert added.returncode == 0, added.stderr
    password = added.stdout.split("password:")[1].split()[0]
    assert eventually(lambda: http_login(base, "late", password)[1] == 200)
    late, _ = http_login(base, "late", password)

    # a new password from the CLI ends the running session; the new one logs in
    passwd = kefu("user", "passwd", str(ws), "--name", "late", "--generate")
    assert passwd.returncode == 0, passwd.stderr
    new_password = passwd.stdout.split(":")[-1].strip()
    assert eventually(lambda: late.get("/api/me").status_code == 401)
    assert http_login(base, "late", new_password)[1] == 200 and http_login(base, "late", password)[1] == 401

    # disabled from the CLI: logging in is refused
    assert kefu("user", "disable", str(ws), "--name", "late").returncode == 0
    assert eventually(lambda: http_login(base, "late", new_password)[1] == 401)


@pytest.fixture
def holder(tmp_path):
    """Another process that opens kefu.duckdb read-write (as `kefu import` does) until told to let go."""
    procs = []

    def hold(ws: Path) -> subprocess.Popen:
        code = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read(); c.close()"
        p = subprocess.Popen(
            [sys.executable, "-c", code, str(ws / DB_FILE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert p.stdout.readline().strip() == "held"
        procs.append(p)
        return p

    yield hold
    for p in procs:
        if p.poll() is None:
            p.stdin.close()
            p.wait(10)


def release(p: subprocess.Popen) -> None:
    p.stdin.close()
    p.wait(10)


def test_a_web_write_waits_for_the_file_and_nothing_is_lost(tmp_path, holder):
    from kefu.web.app import create_app

    ws = hand_workspace(tmp_path)
    app = create_app(ws, warm=False, write_wait=30, check_every=0.3)
    try:
        client = login(app, "m")
        held = holder(ws)
        # reads come from the snapshot: unaffected while another process holds the file
        assert client.get("/api/reports/daily", params={"date": "2026-11-11"}).status_code == 200
        assert consult_buyers(client) == 2
        body = [
            {
                "month": "2026-11",
                "shop": "s",
                "scope": "team",
                "subject": "售前",
                "metric": "sales_amount",
                "value": 500,
            }
        ]
        answer = {}
        writer = threading.Thread(
            target=lambda: answer.update(r=client.post("/api/targets", json=body, headers=csrf(client)))
        )
        writer.start()
        time.sleep(0.5)  # let the write start waiting (not an assertion)
        assert writer.is_alive()  # still waiting for the file
        release(held)
        writer.join(30)
        assert answer["r"].status_code == 200, answer["r"].text
        assert [t["subject"] for t in client.get("/api/targets").json()] == ["售前"]  # visible to the next read
        app.state.store.flush_audit(wait=10)
        con = connect(ws / DB_FILE, read_only=True)
        try:
            assert [(t.scope, t.subject, t.value) for t in load(con)] == [("team", "售前", 500.0)]
            actions = [(e["user"], e["action"]) for e in audit_log(con)]
        finally:
            con.close()
        assert ("m", "view_report") in actions and ("m", "edit_targets") in actions and ("m", "login") in actions
    finally:
        app.state.store.close()


def test_a_web_write_gives_up_with_a_clear_error_and_the_audit_rows_wait(tmp_path, holder):
    from kefu.web.app import create_app

    ws = hand_workspace(tmp_path)
    app = create_app(ws, warm=False, write_wait=0.5, check_every=0.3)
    store = app.state.store
    try:
        client = login(app, "m")
        held = holder(ws)
        body = [{"month": "2026-11", "shop": "s", "scope": "shop", "subject": "s", "metric": "complaints", "value": 3}]
        r = client.post("/api/targets", json=body, headers=csrf(client))
        assert r.status_code == 503 and "busy" in r.json()["detail"] and r.headers["retry-after"]
        assert client.get("/api/targets").json() == []  # not saved, and not shown as if it were
        client.get("/api/reports/daily", params={"date": "2026-11-11"})
        time.sleep(1.5)  # the audit thread tries (and fails) to write meanwhile (not an assertion)
        assert any(row[2] == "view_report" for row in store.audit_log.pending)  # still buffered, not dropped
        release(held)
        store.flush_audit(wait=10)
        assert not store.audit_log.pending
        con = connect(ws / DB_FILE, read_only=True)
        try:
            actions = [e["action"] for e in audit_log(con, 1000)]
        finally:
            con.close()
        assert "view_report" in actions and "login" in actions
        assert (
            client.post("/api/targets", json=body, headers=csrf(client)).status_code == 200
        )  # retried by the user: saved
    finally:
        store.close()


def test_an_edited_kefu_toml_gives_the_snapshot_a_cube_for_the_new_parameters(tmp_path):
    ws = hand_workspace(tmp_path)
    store = Store(ws, watch=False)
    try:
        with store.lock:  # the server warms its caches on the same connection in a thread of its own
            assert cube_is_current(store.ws)
        config = ws / "kefu.toml"
        config.write_text(
            config.read_text(encoding="utf-8").replace("slow_threshold_s = 60", "slow_threshold_s = 5"),
            encoding="utf-8",
        )
        assert store.refresh() == "full"
        with store.lock, Workspace.open(ws, read_only=True) as on_disk:
            assert store.ws.config.params.slow_threshold_s == 5 and cube_is_current(store.ws)  # rebuilt in memory
            assert not cube_is_current(on_disk)  # the server never writes the imported tables
            assert api.kpis(store.ws, ["agent", "day"]) == api.kpis(on_disk, ["agent", "day"], on_disk.config.params)
    finally:
        store.close()


def test_a_check_while_another_process_holds_the_file_comes_back_and_then_reloads(tmp_path, holder):
    """The file is reread through kefu.workspace.connect: while another process holds it a check answers busy
    and the old snapshot goes on serving; the first check after the release reloads."""
    ws = hand_workspace(tmp_path)
    store = Store(ws, watch=False)
    try:
        held = holder(ws)
        config = ws / "kefu.toml"
        config.write_text(
            config.read_text(encoding="utf-8").replace("slow_threshold_s = 60", "slow_threshold_s = 5"),
            encoding="utf-8",
        )
        assert store.refresh() == "busy" and store.params.slow_threshold_s == 60 and store.reloads == 0
        assert store.kpis(("shop", "day"))  # still served
        release(held)
        assert store.refresh() == "full" and store.params.slow_threshold_s == 5 and store.reloads == 1
    finally:
        store.close()

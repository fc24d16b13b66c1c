"""The whole JSON API under schemathesis (property-based requests from /openapi.json), in-process, as a signed-in
manager of 乙店 and as an agent of 甲店 (tests/web/two_shops.py): no server error, and no response carrying the other
shop's accounts unless the request itself named them. Bounded: few examples per operation and a deadline."""

from __future__ import annotations

import time

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.web.conftest import login  # noqa: E402
from tests.web.two_shops import A, B, build, without_lifespan  # noqa: E402

EXAMPLES = 6  # per operation; about 40 operations × 2 users stay within two minutes
BUDGET_S = 100.0


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from kefu.web.app import create_app

    application = create_app(build(tmp_path_factory.mktemp("st")))
    yield application
    application.state.store.close()


# user -> the marker of the shop they may not see (accounts are written 店铺:名字)
USERS = {"manager_b": f"{A}:", "agent_ann": f"{B}:"}


@pytest.fixture(scope="module")
def clients(app):
    """Both users signed in before any generated request (generated logins fail, and count against the address)."""
    return {name: login(app, name) for name in USERS}


@pytest.mark.parametrize("name", sorted(USERS))
def test_no_server_error_and_no_other_scope(app, clients, name):
    client = clients[name]
    cookies = dict(client.cookies)
    headers = {"X-CSRF-Token": client.cookies.get("kefu_csrf")}
    schema = schemathesis.openapi.from_dict(app.openapi())
    target, foreign, start, problems = without_lifespan(app), USERS[name], time.monotonic(), []
    for operation in schema.get_all_operations():
        operation = operation.ok()
        if operation.method.upper() == "DELETE" and operation.path == "/api/session":
            continue  # logging out would end the session the other examples use

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.generate],
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            if time.monotonic() - start > BUDGET_S:
                return
            response = case.call(app=target, cookies=cookies, headers=headers)
            sent = f"{case.path_parameters} {case.query} {case.body}"
            if response.status_code >= 500:
                problems.append(
                    f"{case.method} {case.formatted_path} {case.query}: {response.status_code} {response.content[:200]!r}"
                )
            elif (
                foreign.encode() in response.content and foreign not in sent
            ):  # (XLSX are zipped: checked by the JSON twins)
                problems.append(f"{case.method} {case.formatted_path} {case.query}: shows {foreign}… to {name}")

        check()
    assert not problems, "\n".join(problems[:20])

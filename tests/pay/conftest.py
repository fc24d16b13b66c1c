"""The hand-made month (tests/pay/month.py), built once per session."""

from __future__ import annotations

import pytest

from kefu.pay import api as pay
from kefu.workspace import Workspace
from tests.pay.month import MONTH, build


@pytest.fixture(scope="session")
def month_ws(tmp_path_factory):
    return build(tmp_path_factory.mktemp("pay"))


@pytest.fixture(scope="session")
def data(month_ws):
    with Workspace.open(month_ws, read_only=True) as ws:
        return pay.month_data(ws, MONTH)


@pytest.fixture(scope="session")
def payroll(month_ws, data):
    with Workspace.open(month_ws, read_only=True) as ws:
        return pay.payroll(ws, MONTH, data=data)

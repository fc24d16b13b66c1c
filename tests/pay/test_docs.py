"""docs/pay.md holds the reference tables generated from the declarations: no drift."""

from pathlib import Path

import pytest

from kefu.pay import docs

PAY_MD = Path(__file__).resolve().parents[2] / "docs" / "pay.md"


@pytest.mark.parametrize("table", [docs.scheme_markdown, docs.measures_markdown, docs.inputs_reference])
def test_reference_tables_are_current(table):
    assert table() in PAY_MD.read_text(encoding="utf-8"), (
        "regenerate the tables of docs/pay.md: python -m kefu.pay.docs"
    )


def test_every_pay_command_is_documented():
    from kefu.cli.pay import pay_app

    text = PAY_MD.read_text(encoding="utf-8")
    for command in pay_app.registered_commands:
        assert f"kefu pay {command.name}" in text, command.name

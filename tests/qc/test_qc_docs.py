"""docs/qc.md holds the tables generated from the rule declarations, and docs/cli.md every `kefu qc` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.cli.qc import qc_app
from kefu.qc import docs

DOCS = Path(__file__).parent.parent.parent / "docs"


@pytest.mark.parametrize("table", [docs.rule_keys_markdown, docs.default_rules_markdown])
def test_reference_tables_are_current(table):
    assert table() in (DOCS / "qc.md").read_text(encoding="utf-8"), "regenerate: python -m kefu.qc.docs"


def test_every_qc_command_is_documented():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for command in qc_app.registered_commands:
        name = command.name or command.callback.__name__.rstrip("_")
        assert f"kefu qc {name}" in text, name

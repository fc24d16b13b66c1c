"""The docs hold the reference tables generated from the declarations: no drift."""

from pathlib import Path

import pytest

from kefu import docgen
from kefu.cli.main import app

DOCS = Path(__file__).parent.parent / "docs"


@pytest.mark.parametrize(
    "doc, table",
    [
        ("metrics.md", docgen.metrics_markdown),
        ("data.md", docgen.tables_markdown),
        ("config.md", docgen.settings_markdown),
        ("config.md", lambda: docgen.settings_markdown("qc.mutual")),
    ],
)
def test_reference_tables_are_current(doc, table):
    assert table() in (DOCS / doc).read_text(encoding="utf-8"), f"regenerate docs/{doc}: python -m kefu.docgen"


def test_every_cli_command_is_documented():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.rstrip("_").replace("_", "-")
        assert f"kefu {name}" in text, name

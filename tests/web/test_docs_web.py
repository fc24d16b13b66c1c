"""docs/web.md documents every web command and every JSON route."""

from pathlib import Path

import typer

from kefu.cli.web import register

DOC = (Path(__file__).parents[2] / "docs" / "web.md").read_text(encoding="utf-8")


def test_every_web_command_is_documented():
    app = typer.Typer()
    register(app)
    names = [c.name for c in app.registered_commands]
    names += [f"{g.name} {c.name}" for g in app.registered_groups for c in g.typer_instance.registered_commands]
    assert set(names) >= {"serve", "user add", "user list", "report daily", "targets import"}
    for name in names:
        assert f"kefu {name}" in DOC, name


def test_every_api_route_is_documented(app):
    for route in app.routes:
        path = getattr(route, "path", "")
        if path.startswith("/api/"):
            assert path.split("{")[0].rstrip("/") in DOC, path

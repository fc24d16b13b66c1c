"""One declaration per concept (issue 13): the settings' defaults, the credit rules, the month, the error base and
the CLI's one handler, the TOML locator and the number formatter each exist once, and everything else uses them."""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import re
from dataclasses import fields
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import kefu
from kefu.config import CREDIT_RULES, SETTINGS, ConfigError, CreditRule, Mutual, Params, Web, default, load_config

SRC = Path(kefu.__file__).parent
SOURCES = {path: path.read_text(encoding="utf-8") for path in sorted(SRC.rglob("*.py"))}


def name(path: Path) -> str:
    return str(path.relative_to(SRC.parent))


def trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(text) for path, text in SOURCES.items()}


# -- settings: SETTINGS feeds Params, Mutual, Web and the `kefu kpi` options -----------------------------------------

SECTIONS = {"kpi": Params, "qc.mutual": Mutual, "web": Web}


@pytest.mark.parametrize("section", SECTIONS)
def test_each_settings_dataclass_has_exactly_the_settings_of_its_table(section):
    declared = [s.name for s in SETTINGS if s.section == section]
    assert [f.name for f in fields(SECTIONS[section])] == declared
    defaults = SECTIONS[section]()
    assert {n: getattr(defaults, n) for n in declared} == {n: default(n) for n in declared}


def test_the_dataclass_defaults_are_read_from_settings_not_repeated():
    """Equal values are not enough: a default written out again (`= 60`) drifts when SETTINGS changes."""
    tree = ast.parse(SOURCES[SRC / "config.py"])
    classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
    for cls in SECTIONS.values():
        for stmt in classes[cls.__name__].body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                value = stmt.value
                assert (
                    isinstance(value, ast.Call)
                    and getattr(value.func, "id", None) == "default"
                    and [a.value for a in value.args if isinstance(a, ast.Constant)] == [stmt.target.id]
                ), f"{cls.__name__}.{stmt.target.id} = {ast.unparse(value) if value else '…'}: use default(...)"


def kpi_command():
    from kefu.cli.main import app

    return typer.main.get_command(app).commands["kpi"]  # type: ignore[attr-defined]


def test_each_kpi_parameter_has_a_kpi_option_with_the_settings_help_and_kefu_toml_as_default():
    options = [p for p in kpi_command().params if p.param_type_name == "option"]
    for setting in (s for s in SETTINGS if s.section == "kpi"):
        [option] = [o for o in options if o.help and setting.help in o.help]
        assert option.default is None, setting.name  # unset: kefu.toml's value, never a copy of the default


def test_credit_rules_are_declared_once():
    from kefu.cli import main

    assert main.CreditRule is CreditRule  # the CLI's choices are the config's enum
    assert tuple(r.value for r in CreditRule) == CREDIT_RULES
    [option] = [p for p in kpi_command().params if p.name == "credit_rule"]
    assert option.type_descriptor.annotation is CreditRule
    written = [name(p) for p, text in SOURCES.items() if re.search(r"""["']order_first["']""", text)]
    # the plain-pandas reference implementation is independent of kefu on purpose
    assert written == ["kefu/config.py", "kefu/testing/reference_pandas.py"]


def test_settings_built_in_code_are_checked_like_the_file():
    with pytest.raises(ConfigError) as caught:
        Params(slow_threshold_s=-5, credit_rule="first")
    assert caught.value.problems == [
        "[kpi] slow_threshold_s must be a whole number ≥ 0, got -5",
        "[kpi] credit_rule must be one of order, payment, order_first, got 'first'",
    ]
    assert Params().override(credit_rule=CreditRule.payment).credit_rule == "payment"
    assert Mutual(warning_only_months=["2026-11"]).warning_only_months == ("2026-11",)  # frozen: a tuple


# -- one validation style: kefu.toml, like schemes and the rule library, names file, line and key -------------------


def test_kefu_toml_problems_name_file_line_and_key(tmp_path):
    path = tmp_path / "kefu.toml"
    path.write_text(
        "[kpi]\n"
        "slow_threshold_s = -5\n"
        "colour = 1\n"
        "\n"
        "[qc.mutual]\n"
        'warning_only_months = ["2026-13"]\n'
        "\n"
        "[[shops]]\n"
        'timezone = "Mars/Base"\n'
        "\n"
        "[kpis]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    known = "slow_threshold_s, after_sales_days, attribution_hours, credit_rule"
    assert caught.value.problems == [
        f"{path}:2: [kpi] slow_threshold_s must be a whole number ≥ 0, got -5",
        f"{path}:3: [kpi] unknown key 'colour' (known: {known})",
        f"{path}:6: [qc.mutual] warning_only_months must be a list of \"YYYY-MM\", got ['2026-13']",
        f"{path}:8: [[shops]] #1 name is missing",
        f"{path}:9: [[shops]] #1 timezone must be an IANA time zone such as Asia/Shanghai, got 'Mars/Base'",
        f"{path}:11: unknown table [kpis] (known: kpi, qc.mutual, web, shops)",
    ]
    path.write_text("[kpi\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}:1: not valid TOML"):
        load_config(path)


def test_config_rules_and_schemes_read_toml_through_the_one_locator():
    for module in ("config.py", "qc/rules.py", "pay/scheme.py"):
        text = SOURCES[SRC / module]
        assert "import tomllib" not in text and "from kefu.tomlpos import" in text, module
    assert not (SRC / "pay" / "tomlpos.py").exists()
    assert [name(p) for p, text in SOURCES.items() if re.search(r"def (key_lines|_rule_places)\b", text)] == [
        "kefu/tomlpos.py"
    ]


def test_the_locator_reads_a_multi_line_string_as_text():
    from kefu.qc.rules import RuleError, parse_rules

    text = (
        '[[rules]]\nid = "r1"\nname = "x"\nseverity = "high"\nscope = "agent_text"\npoints = 5\n'
        'description = """a rule\n[[rules]]\nid = "not a key"\n"""\n'
        "patterns = ['a*']\n"
    )
    from kefu.tomlpos import key_lines

    lines = key_lines(text)
    assert ("rules", 1) not in lines and lines[("rules", 0, "patterns")] == 11
    with pytest.raises(RuleError) as caught:
        parse_rules(text, "r.toml")
    assert caught.value.problems == [
        "r.toml:11: rule r1: pattern 'a*': matches the empty text (every message would match)"
    ]


# -- one Month ------------------------------------------------------------------------------------------------------


def test_a_month_parses_once_with_its_days():
    from kefu.month import Month, MonthError, is_month

    feb = Month.parse("2028-02")
    assert (feb.first, feb.last, feb.days, str(feb.next), feb.after) == (
        dt.date(2028, 2, 1),
        dt.date(2028, 2, 29),
        29,
        "2028-03",
        dt.date(2028, 3, 1),
    )
    dec = Month.parse("2026-12")
    assert (dec.last, str(dec.next), dec.after) == (dt.date(2026, 12, 31), "2027-01", dt.date(2027, 1, 1))
    assert Month.of(dt.date(2026, 11, 30)) == Month(2026, 11) and Month.parse(dec) is dec
    assert Month(2026, 11) < Month(2026, 12) < Month(2027, 1)
    for bad in ("2026-13", "2026-00", "2026-1", "202611", "0000-01", " 2026-11", "2026-11-01", None):
        assert not is_month(bad)
        with pytest.raises(MonthError, match="is not YYYY-MM"):
            Month.parse(bad)  # type: ignore[arg-type]


def test_the_month_error_is_the_one_month_error_everywhere():
    from kefu.errors import KefuError
    from kefu.month import MonthError
    from kefu.pay import sources

    assert issubclass(MonthError, KefuError) and MonthError.status == 422
    assert sources.MonthError is MonthError and issubclass(sources.EmptyMonth, MonthError)
    assert sources.EmptyMonth.status == 404  # a month without data: nothing to answer


#: Month parsing in any form: strptime / fromisoformat of a month, a month regular expression, a month_range.
MONTH_PARSERS = re.compile(
    r"""strptime\([^)]*%Y-%m["']"""
    r"""|fromisoformat\([^)]*-01["']"""
    r"""|\\d\{4\}-(\\d\{2\}(?!-)|\(0\[1-9\])"""
    r"""|def (month_range|_is_month)\b"""
)
#: A month written as text from a date; kefu.month.Month.of(day) says it once. TODO(issue 13): these files of
#: kefu/web and kefu/reports (being refactored by others) still format their own; drop each as it is converted.
MONTH_FORMATTERS_LEFT = {
    "kefu/web/routers/leaderboard.py",
    "kefu/web/routers/qc.py",
    "kefu/web/routers/targets.py",
    "kefu/web/routers/pay.py",
    "kefu/web/routers/reports.py",
    "kefu/web/routers/overview.py",
    "kefu/reports/leaderboard.py",
    "kefu/reports/daily.py",
    "kefu/reports/overview.py",
}


def test_months_are_parsed_only_by_kefu_month():
    found = {name(p): MONTH_PARSERS.findall(text) for p, text in SOURCES.items() if p != SRC / "month.py"}
    assert {file: hits for file, hits in found.items() if hits} == {}


def test_months_are_written_as_text_only_by_kefu_month():
    formatting = {name(p) for p, text in SOURCES.items() if re.search(r"""["']%Y-%m["']""", text)}
    assert formatting == MONTH_FORMATTERS_LEFT  # shrink the list as files move to Month.of(day)


# -- one KefuError base ---------------------------------------------------------------------------------------------

#: Exception classes that are signals inside kefu, never an answer to a user's input.
INTERNAL = {"NotAuthenticated": "kefu/web/auth.py: sends the browser to the login page"}


BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


def classes_of_kefu() -> dict[str, tuple[str, list[str]]]:
    """Every class defined in kefu: name -> (file, the names of its bases)."""
    return {
        node.name: (name(path), [ast.unparse(b).rpartition(".")[2] for b in node.bases])
        for path, tree in trees().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }


def exception_classes() -> dict[str, tuple[str, list[str]]]:
    classes = classes_of_kefu()

    def is_exception(cls: str) -> bool:
        return any(b in BUILTIN_EXCEPTIONS or (b in classes and b != cls and is_exception(b)) for b in classes[cls][1])

    return {cls: info for cls, info in classes.items() if is_exception(cls)}


def derives_from_kefu_error(cls: str, classes: dict) -> bool:
    return cls == "KefuError" or any(b in classes and derives_from_kefu_error(b, classes) for b in classes[cls][1])


def test_every_exception_class_of_kefu_is_a_kefu_error():
    classes = exception_classes()
    assert {"ConfigError", "FormatError", "ReadError", "WorkspaceError", "MonthError"} <= set(classes)
    outside = {cls: file for cls, (file, _) in classes.items() if not derives_from_kefu_error(cls, classes)}
    assert outside == {cls: INTERNAL[cls].split(":")[0] for cls in INTERNAL}


# -- the CLI: one console, one fail, one opener, one handler --------------------------------------------------------

CLI = sorted(p for p in SOURCES if p.parent == SRC / "cli")


def test_only_kefu_cli_common_makes_consoles_and_opens_workspaces():
    for path in CLI:
        text = SOURCES[path]
        if path.name != "common.py":
            assert "Console(" not in text and "Workspace.open(" not in text and "open_data(" not in text, path.name
            assert "def _fail" not in text and "typer.Exit(2)" not in text, path.name


def test_no_cli_command_maps_errors_itself():
    """Errors reach the one handler (kefu.cli.common.handled): the CLI catches nothing but an optional import."""
    caught = {
        (path.name, ast.unparse(node.type) if node.type else "everything")
        for path in CLI
        for node in ast.walk(ast.parse(SOURCES[path]))
        if isinstance(node, ast.ExceptHandler)
    }
    assert caught == {
        ("qc.py", "ImportError"),
        ("common.py", "KefuError"),
        ("common.py", "OSError"),
        ("common.py", "MonthError"),
    }


def test_every_command_runs_with_the_one_handler():
    from kefu.cli.common import App
    from kefu.cli.main import app

    def apps(typer_app):
        yield typer_app
        for group in typer_app.registered_groups:
            yield from apps(group.typer_instance)

    found = list(apps(app))
    assert len(found) == 8 and all(isinstance(a, App) for a in found)
    commands = [c for a in found for c in a.registered_commands]
    assert len(commands) > 30 and all(getattr(c.callback, "handles_errors", False) for c in commands)


def test_the_handler_prints_each_problem_and_exits_2(tmp_path):
    from kefu.cli.common import App
    from kefu.pay.scheme import SchemeError

    app = App()

    @app.command()
    def wrong() -> None:
        raise SchemeError(["a.toml:3: base.amount: missing", "b.toml:1: name: missing"])

    @app.command()
    def unreadable() -> None:
        (tmp_path / "nowhere.toml").read_text()

    result = CliRunner().invoke(app, ["wrong"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: a.toml:3: base.amount: missing", "error: b.toml:1: name: missing"]
    result = CliRunner().invoke(app, ["unreadable"])
    assert result.exit_code == 2 and "No such file or directory" in result.stderr


def test_a_bad_month_on_the_command_line_is_refused_by_the_month_type(tmp_path):
    from kefu.cli.main import app

    result = CliRunner().invoke(app, ["pay", "run", str(tmp_path), "--month", "2026-13"])
    message = " ".join(result.stderr.replace("│", " ").split())
    assert result.exit_code == 2 and "Invalid value for '--month': month '2026-13' is not YYYY-MM" in message


# -- one number formatter -------------------------------------------------------------------------------------------


def test_numbers_are_formatted_by_one_module():
    from kefu import formatting
    from kefu.cli import render
    from kefu.web import formatting as web

    assert web.fmt is formatting.fmt and web.fmt_delta is formatting.fmt_delta
    assert [render.shown(k, v, "zh") for k, v in (("avg_response_s", 66.3), ("sales_amount", 1234.5))] == [
        "1:06",
        "¥1,234.50",
    ]
    assert formatting.yuan(-5) == "−¥5.00" and formatting.money(-5, signed=True) == "-5.00"
    defined = [name(p) for p, text in SOURCES.items() if re.search(r"^def (fmt|yuan)\(", text, re.M)]
    assert defined == ["kefu/formatting.py"]

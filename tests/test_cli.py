"""The CLI contract other tools depend on (issue 2, part 5)."""

import json

from shops import msg, order, write_table
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.derive import cube_is_current
from kefu.metrics.registry import AGENT_METRICS, SHOP_METRICS
from kefu.workspace import Workspace

runner = CliRunner()


def data_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_table(
        folder,
        "messages",
        [msg("10:00:00", "buyer"), msg("10:00:20", "agent"), msg("10:05:00", "buyer"), msg("10:06:40", "agent")],
    )
    write_table(
        folder,
        "orders",
        [order("o1", "10:07:00", "10:08:00", "199.00"), order("o2", "11:00:00", "11:01:00", "1.00", buyer="b9")],
    )
    return folder


def kpi_json(*args):
    result = runner.invoke(app, ["kpi", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_kpi_json_on_a_folder_of_canonical_files(tmp_path):
    [row] = kpi_json(str(data_folder(tmp_path)), "--by", "agent,day")
    assert list(row) == ["shop", "agent", "day", *(m.key for m in AGENT_METRICS), "provisional"]
    assert (row["day"], row["avg_response_s"], row["satisfaction_rate"], row["sales_amount"]) == (
        "2026-11-11",
        60.0,
        None,
        199.0,
    )


def test_kpi_shop_grouping_adds_silent_sales_and_parameters_apply(tmp_path):
    [row] = kpi_json(str(data_folder(tmp_path)), "--by", "shop,day", "--slow-threshold", "120")
    assert [m.key for m in SHOP_METRICS] == list(row)[-4:-1]  # then `provisional`
    assert (row["silent_orders"], row["silent_sales"], row["slow_responses"]) == (1, 1.0, 0)


def test_kpi_date_range_and_bad_grouping(tmp_path):
    folder = str(data_folder(tmp_path))
    assert kpi_json(folder, "--from", "2026-11-12") == []
    bad = runner.invoke(app, ["kpi", folder, "--by", "buyer"])
    assert bad.exit_code == 2


def test_import_then_explain_a_metric(tmp_path):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["import", str(ws), str(data_folder(tmp_path))]).exit_code == 0
    result = runner.invoke(
        app,
        [
            "explain",
            str(ws),
            "--agent",
            "s:ann",
            "--day",
            "2026-11-11",
            "--metric",
            "avg_response_s",
            "--format",
            "json",
        ],
    )
    out = json.loads(result.output)
    assert out["value"] == 60.0
    assert [q["response_s"] for q in out["rows"]["questions"]] == [20, 100]
    assert set(out["rows"]) == {"questions"}


def test_edited_parameters_apply_before_and_after_refresh(tmp_path):
    # Answers after 20 s and 100 s: one 慢响应 at the default 60 s, none at 120 s.
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["import", str(ws), str(data_folder(tmp_path))]).exit_code == 0
    with Workspace.open(ws, read_only=True) as opened:
        assert cube_is_current(opened)
    assert [r["slow_responses"] for r in kpi_json(str(ws), "--by", "agent,day")] == [1]
    config = ws / "kefu.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("slow_threshold_s = 60", "slow_threshold_s = 120"), encoding="utf-8"
    )
    with Workspace.open(ws, read_only=True) as opened:
        assert not cube_is_current(opened)  # built for 60 s: the KPIs come from the facts meanwhile
    assert [r["slow_responses"] for r in kpi_json(str(ws), "--by", "agent,day")] == [0]
    result = runner.invoke(app, ["refresh", str(ws)])
    assert result.exit_code == 0, result.output
    with Workspace.open(ws, read_only=True) as opened:
        assert cube_is_current(opened)
    assert [r["slow_responses"] for r in kpi_json(str(ws), "--by", "agent,day")] == [0]
    assert [r["slow_responses"] for r in kpi_json(str(ws), "--by", "agent,day", "--slow-threshold", "60")] == [1]


def test_explain_a_count_lists_only_the_rows_it_counts(tmp_path):
    # tests/reports/two_days.py, 2026-11-11: 4 consultations (b1 … b4), b1 converted, b2, b3, b4 lost;
    # 5 questions, 4 answered after more than 60 s (slow), b4's never answered.
    from tests.reports.two_days import D11, build

    ws = build(tmp_path)

    def explain(metric):
        result = runner.invoke(
            app, ["explain", str(ws), "--agent", "s:ann", "--day", D11, "--metric", metric, "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    lost = explain("lost_buyers")
    assert lost["value"] == 3 and [c["buyer"] for c in lost["rows"]["consultations"]] == ["b2", "b3", "b4"]
    assert sorted(lost["lost_chats"]) == ["b2", "b3", "b4"]
    inquiries = explain("inquiry_conversion")  # its rows: the 4 inquiries, b1 the converted one
    assert [(c["buyer"], c["converted"]) for c in inquiries["rows"]["consultations"]] == [
        ("b1", True),
        ("b2", False),
        ("b3", False),
        ("b4", False),
    ]
    assert inquiries["lost_chats"] == {}  # the lost buyers' chats belong to 询单流失
    slow = explain("slow_responses")
    assert slow["value"] == 4 and [q["response_s"] for q in slow["rows"]["questions"]] == [66, 66, 67, 66]
    converted = explain("converted_buyers")
    assert [c["buyer"] for c in converted["rows"]["consultations"]] == ["b1"]

"""The CLI contract other tools depend on (issue 2, part 5)."""

import json

from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.metrics.registry import AGENT_METRICS, SHOP_METRICS
from shops import msg, order, write_table

runner = CliRunner()


def data_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_table(folder, "messages", [msg("10:00:00", "buyer"), msg("10:00:20", "agent"), msg("10:05:00", "buyer"), msg("10:06:40", "agent")])
    write_table(folder, "orders", [order("o1", "10:07:00", "10:08:00", "199.00"), order("o2", "11:00:00", "11:01:00", "1.00", buyer="b9")])
    return folder


def kpi_json(*args):
    result = runner.invoke(app, ["kpi", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_kpi_json_on_a_folder_of_canonical_files(tmp_path):
    [row] = kpi_json(str(data_folder(tmp_path)), "--by", "agent,day")
    assert list(row) == ["shop", "agent", "day", *(m.key for m in AGENT_METRICS)]
    assert (row["day"], row["avg_response_s"], row["satisfaction_rate"], row["sales_amount"]) == ("2026-11-11", 60.0, None, 199.0)


def test_kpi_shop_grouping_adds_silent_sales_and_parameters_apply(tmp_path):
    [row] = kpi_json(str(data_folder(tmp_path)), "--by", "shop,day", "--slow-threshold", "120")
    assert [m.key for m in SHOP_METRICS] == list(row)[-3:]
    assert (row["silent_orders"], row["silent_sales"], row["slow_responses"]) == (1, 1.0, 0)


def test_kpi_date_range_and_bad_grouping(tmp_path):
    folder = str(data_folder(tmp_path))
    assert kpi_json(folder, "--from", "2026-11-12") == []
    bad = runner.invoke(app, ["kpi", folder, "--by", "buyer"])
    assert bad.exit_code == 2


def test_import_then_explain_a_metric(tmp_path):
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["import", str(ws), str(data_folder(tmp_path))]).exit_code == 0
    result = runner.invoke(app, ["explain", str(ws), "--agent", "s:ann", "--day", "2026-11-11", "--metric", "avg_response_s", "--format", "json"])
    out = json.loads(result.output)
    assert out["value"] == 60.0
    assert [q["response_s"] for q in out["rows"]["questions"]] == [20, 100]
    assert set(out["rows"]) == {"questions"}

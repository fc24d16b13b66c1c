"""`make bench` itself runs: every step at a small size, with results the report can show."""

from bench import run


def test_every_benchmark_step_runs_and_agrees_with_pandas_on_the_groups(tmp_path):
    out = run.bench_size(20_000, root=tmp_path)
    assert out["simulate"]["counts"]["messages"] > 10_000
    assert out["import"]["rows"] > out["csv_read_validate"]["rows"] > 10_000  # messages, plus orders, agents …
    assert (
        out["kpi"]["groups"] == out["pandas"]["groups"] > 25
    )  # the engine and the pandas reference: one row per agent-day
    assert all(out["kpi"][key] > 0 for key in ("seconds", "live_s"))
    assert "| 20,000 |" in run.report([out], None)

"""`kefu qc run / findings / scores / sample / rules` on a workspace folder, as a user runs them."""

from __future__ import annotations

import csv
import io
import json

import pytest
from shops import msg, write_table
from typer.testing import CliRunner

from kefu.cli.main import app
from kefu.qc.rules import RULES_FILE

runner = CliRunner()


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("qc-cli")
    data = root / "data"
    data.mkdir()
    write_table(
        data,
        "messages",
        [
            msg("10:00:00", "buyer", text="在吗"),
            msg("10:00:20", "agent", text="亲,在的,有事加我微信聊"),
            msg("10:01:00", "buyer", text="好的"),
            msg("10:05:00", "buyer", buyer="b2", text="你们是骗子吧"),
            msg("10:05:10", "agent", buyer="b2", text="亲,不是的哦,感谢您的耐心"),
            msg("2026-11-12 09:00:00", "buyer", agent="s:bob", buyer="b3", text="发货了吗"),
            msg("2026-11-12 09:00:05", "agent", agent="s:bob", buyer="b3", text="您好,已经发货了,感谢"),
        ],
    )
    write_table(data, "orders", [])
    path = root / "ws"
    result = runner.invoke(app, ["import", str(path), str(data)])
    assert result.exit_code == 0, result.output
    return path


def run(*args: str):
    result = runner.invoke(app, ["qc", *args])
    return result


def test_run_then_findings_as_json(ws):
    result = run("run", str(ws), "--from", "2026-11-11", "--to", "2026-11-30")
    assert result.exit_code == 0, result.output
    assert "off_platform_contact" in result.output and "3 个问题" in result.output
    out = run("findings", str(ws), "--agent", "s:ann", "--day", "2026-11-11", "--format", "json")
    assert out.exit_code == 0, out.output
    found = json.loads(out.stdout)
    assert [(f["rule"], f["buyer"], f["ts"], f["match"]) for f in found] == [
        ("missing_closing", "b1", "2026-11-11 10:00:20", ""),
        ("off_platform_contact", "b1", "2026-11-11 10:00:20", "加我微信"),
        ("buyer_complaint_intent", "b2", "2026-11-11 10:05:00", "骗子"),
    ]
    first = found[1]
    assert {
        "agent",
        "buyer",
        "ts",
        "rule",
        "severity",
        "text",
        "match",
        "rule_name",
        "points",
        "status",
        "finding_id",
    } <= set(first)
    assert (first["agent"], first["severity"], first["status"], first["points"]) == ("s:ann", "critical", "open", 20.0)
    assert first["text"] == "亲,在的,有事加我微信聊" and first["day"] == "2026-11-11"


def test_findings_filters_and_csv(ws):
    run("run", str(ws))
    out = run("findings", str(ws), "--rule", "buyer_complaint_intent", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["rule"], r["match"]) for r in rows] == [("buyer_complaint_intent", "骗子")]
    assert run("findings", str(ws), "--day", "2026-11-12", "--format", "json").stdout.strip() == "[]"
    assert json.loads(run("findings", str(ws), "--status", "confirmed", "--format", "json").stdout) == []


def test_scores(ws):
    run("run", str(ws))
    out = run("scores", str(ws), "--format", "json")
    scores = {(r["agent"], r["day"]): (r["dialogues"], r["points"], r["qc_score"]) for r in json.loads(out.stdout)}
    # ann: 2 dialogues, off-platform 20 + no closing 0.5 = 20.5 points > 2 × 5 at stake: 0 (docs/qc.md QC-D10)
    assert scores == {("s:ann", "2026-11-11"): (2, 20.5, 0.0), ("s:bob", "2026-11-12"): (1, 0.0, 100.0)}
    period = json.loads(run("scores", str(ws), "--period", "--format", "json").stdout)
    # over both days ann has the same 2 dialogues; bob 1 without findings
    assert {r["agent"]: (r["days"], r["dialogues"], r["qc_score"]) for r in period} == {
        "s:ann": (1, 2, 0.0),
        "s:bob": (1, 1, 100.0),
    }


def test_sample_by_week(ws):
    run("run", str(ws))
    out = run("sample", str(ws), "--week", "2026-W46", "--per-agent", "10", "--seed", "7", "--format", "json")
    assert out.exit_code == 0, out.output
    picked = json.loads(out.stdout)
    assert [(p["agent"], p["buyer"], p["stratum"]) for p in picked] == [
        ("s:ann", "b1", "critical"),
        ("s:ann", "b2", "high"),
        ("s:bob", "b3", "clean"),
    ]
    assert picked[0]["chat"] == "/chats/s%3Aann/2026-11-11/b1"
    again = run("sample", str(ws), "--week", "2026-W46", "--per-agent", "10", "--seed", "7", "--format", "json")
    assert json.loads(again.stdout) == picked
    table = run("sample", str(ws), "--week", "2026-W46")
    assert table.exit_code == 0 and "/chats/s:ann/2026-11-11/b1" in table.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["sample", "{ws}", "--week", "2026-46"], "not an ISO week like 2026-W46"),
        (["sample", "{ws}", "--from", "2026-11-11"], "give --week 2026-W46 or both --from and --to"),
        (["run", "{ws}", "--from", "2026-11-12", "--to", "2026-11-11"], "--to 2026-11-11 is before --from 2026-11-12"),
        (["findings", "nowhere"], "nowhere is not a kefu workspace"),
    ],
)
def test_bad_arguments_say_what_is_wrong(ws, args, message):
    result = runner.invoke(app, ["qc", *(a.format(ws=ws) for a in args)])
    assert result.exit_code == 2 and message in " ".join(result.output.split())


def test_rules_init_check_and_install(ws, tmp_path):
    listed = run("rules", str(ws), "--format", "json")
    assert "off_platform_contact" in {r["rule"] for r in json.loads(listed.stdout)}
    target = ws / RULES_FILE
    assert run("rules", str(ws), "--init").exit_code == 0 and target.exists()
    assert run("rules", str(ws), "--init").exit_code == 2  # never overwrites
    bad = tmp_path / "bad.toml"
    bad.write_text(
        target.read_text(encoding="utf-8").replace('severity = "critical"', 'severity = "urgent"', 1), encoding="utf-8"
    )
    result = run("rules", str(ws), "--check", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:" in result.output and "rule off_platform_contact: severity must be one of" in " ".join(
        result.output.split()
    )
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[[rules]]\nid = "r1"\nname = "禁语"\nseverity = "high"\nscope = "agent_text"\npoints = 5\n'
        "patterns = ['有事']\nhits = ['有事找我']\nmisses = ['没事']\n",
        encoding="utf-8",
    )
    assert run("rules", str(ws), "--check", str(mine)).exit_code == 0
    assert run("rules", str(ws), "--install", str(mine)).exit_code == 0
    assert target.read_text(encoding="utf-8") == mine.read_text(encoding="utf-8")
    run("run", str(ws), "--from", "2026-11-11", "--to", "2026-11-11")
    found = json.loads(run("findings", str(ws), "--format", "json").stdout)
    assert {f["rule"] for f in found if f["day"] == "2026-11-11"} == {"r1"}
    target.unlink()

"""A 20-second load run (bench/load_run.py): concurrent Slack conversations through the real adapter, with
router faults, Slack 429s and duplicate deliveries; nothing is lost and nothing is answered twice."""

from __future__ import annotations

from bench.load_run import parse_args, run_load


async def test_short_load_run_loses_nothing_and_answers_once():
    args = parse_args(
        [
            "--conversations",
            "30",
            "--channels",
            "10",
            "--duration",
            "20",
            "--think",
            "0.5",
            "3",
            "--router-fault-rate",
            "0.1",
            "--duplicate-rate",
            "0.1",
            "--slack-fault-every",
            "0.5",
            "2",
        ]
    )
    result = await run_load(args)
    assert result["conversations"] == 30
    assert result["user messages sent"] >= 60
    assert result["messages lost"] == 0, result["lost detail"]
    assert result["duplicate answers"] == 0
    assert result["final text wrong"] == 0
    assert result["answers delivered"] == result["user messages sent"]
    assert not result["slack 429s injected"].startswith("0 ")
    assert not result["router faults injected"].startswith("0 ")
    assert "0 retries" not in result["duplicate deliveries sent"]
    assert result["seconds"] < 40

"""The front ends only translate (ARCHITECTURE.md, issue 12): no module under bots/ grows past 300 lines, Block Kit
builders excepted. A module that does is split by responsibility, as bots/slack/adapter.py (workspace.py,
talking_back.py) and bots/console/app.py (loop.py, questions.py) were."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 300

# Block Kit builders: long literal lists of blocks, not logic
BUILDERS = {"bots/slack/views.py"}

# Over the limit today and being split on their own branches (with changes to what they do); drop each entry once
# its split is merged: the second test below says when.
BEING_SPLIT = {"bots/discord/sink.py"}


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def oversized(root: Path, limit: int = LIMIT) -> list[str]:
    """Every module under `root`/bots over `limit` lines, builders and modules being split left out."""
    found = []
    for path in sorted((root / "bots").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name in BUILDERS or name in BEING_SPLIT:
            continue
        if (lines := line_count(path)) > limit:
            found.append(f"{name} ({lines} lines)")
    return found


def test_no_front_end_module_over_300_lines():
    offenders = oversized(ROOT)
    assert not offenders, f"over {LIMIT} lines, split them by responsibility: " + ", ".join(offenders)


def test_modules_being_split_are_still_over_the_limit():
    """An entry of BEING_SPLIT whose module is gone or back under the limit is stale: drop it."""
    stale = [name for name in sorted(BEING_SPLIT) if not (ROOT / name).exists() or line_count(ROOT / name) <= LIMIT]
    assert not stale, "split now, drop from BEING_SPLIT: " + ", ".join(stale)


def test_the_guard_names_an_oversized_module(tmp_path):
    (tmp_path / "bots" / "slack").mkdir(parents=True)
    (tmp_path / "bots" / "slack" / "big.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "bots" / "slack" / "views.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "bots" / "slack" / "small.py").write_text("x = 1\n" * LIMIT)
    assert oversized(tmp_path) == [f"bots/slack/big.py ({LIMIT + 1} lines)"]

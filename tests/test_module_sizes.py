"""The front ends only translate (ARCHITECTURE.md, issue 12): no module under bots/ grows past 300 lines, Block Kit
builders excepted. A module that does is split by responsibility, as bots/slack/adapter.py (workspace.py,
talking_back.py) and bots/console/app.py (loop.py, questions.py) were."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 300

# Block Kit builders: long literal lists of blocks, not logic
BUILDERS = {"bots/slack/views.py"}


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def oversized(root: Path, limit: int = LIMIT) -> list[str]:
    """Every module under `root`/bots over `limit` lines, builders left out."""
    found = []
    for path in sorted((root / "bots").rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name in BUILDERS:
            continue
        if (lines := line_count(path)) > limit:
            found.append(f"{name} ({lines} lines)")
    return found


def test_no_front_end_module_over_300_lines():
    offenders = oversized(ROOT)
    assert not offenders, f"over {LIMIT} lines, split them by responsibility: " + ", ".join(offenders)


def test_the_guard_names_an_oversized_module(tmp_path):
    (tmp_path / "bots" / "slack").mkdir(parents=True)
    (tmp_path / "bots" / "slack" / "big.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "bots" / "slack" / "views.py").write_text("x = 1\n" * (LIMIT + 1))
    (tmp_path / "bots" / "slack" / "small.py").write_text("x = 1\n" * LIMIT)
    assert oversized(tmp_path) == [f"bots/slack/big.py ({LIMIT + 1} lines)"]

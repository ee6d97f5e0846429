"""./scripts/run installs once: pip runs on the first start and when pyproject.toml changes, not on
every start (that took ~15 s each time). A fake python3 and pip record what would have run."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/usr/bin/env bash
# stands in for python3 and the venv's python: `-m venv DIR` makes a venv whose hfchat echoes
if [ "$1" = "--version" ]; then echo "Python 3.11.0"; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"
    printf '#!/usr/bin/env bash\\necho "hfchat $*"\\n' > "$3/bin/hfchat"; chmod +x "$3/bin/hfchat"
    printf 'PATH="%s/bin:$PATH"\\n' "$(cd "$3" && pwd)" > "$3/bin/activate"
    cp "$0" "$3/bin/python"
    exit 0
fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "pip ${*:3}" >> "$PIP_LOG"; exit 0; fi
exit 1
"""


def make_checkout(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run", checkout / "scripts" / "run")
    shutil.copy(ROOT / "pyproject.toml", checkout / "pyproject.toml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(FAKE_PYTHON)
    (bin_dir / "python3").chmod(0o755)
    return checkout


def run(checkout: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}", PIP_LOG=str(tmp_path / "pip.log"))
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "run"), *args], capture_output=True, text=True, env=env, timeout=30
    )


def pip_runs(tmp_path: Path) -> int:
    log = tmp_path / "pip.log"
    return sum(1 for line in log.read_text().splitlines() if "install -q -e" in line) if log.exists() else 0


def test_run_installs_once_then_only_when_pyproject_changes(tmp_path):
    checkout = make_checkout(tmp_path)
    first = run(checkout, tmp_path, "console")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["Installing (first run, about a minute)…", "hfchat console"]
    assert pip_runs(tmp_path) == 1

    again = run(checkout, tmp_path)
    assert again.stdout.splitlines() == ["hfchat run"] and pip_runs(tmp_path) == 1  # nothing changed: no pip

    with open(checkout / "pyproject.toml", "a") as file:
        file.write("\n# a new dependency\n")
    changed = run(checkout, tmp_path, "console")
    assert changed.stdout.splitlines()[0] == "Updating the installation (pyproject.toml changed)…"
    assert pip_runs(tmp_path) == 2


def test_the_installs_own_output_stays_off_the_screen_unless_it_fails(tmp_path):
    checkout = make_checkout(tmp_path)
    noisy = (tmp_path / "bin" / "python3").read_text().replace(
        'echo "pip ${*:3}" >> "$PIP_LOG"; exit 0',
        'echo "pip ${*:3}" >> "$PIP_LOG"; echo "WARNING: a build backend warning" >&2; '
        '[ -n "$PIP_FAILS" ] && { echo "ERROR: no matching distribution" >&2; exit 1; }; exit 0',
    )
    (tmp_path / "bin" / "python3").write_text(noisy)
    quiet = run(checkout, tmp_path, "console")
    assert quiet.returncode == 0 and "WARNING" not in quiet.stdout + quiet.stderr
    assert "a build backend warning" in (checkout / ".venv" / "install.log").read_text()
    shutil.rmtree(checkout / ".venv")
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}", PIP_LOG=str(tmp_path / "pip.log"))
    failed = subprocess.run(
        ["bash", str(checkout / "scripts" / "run")], capture_output=True, text=True, timeout=30,
        env={**env, "PIP_FAILS": "1"},
    )  # fmt: skip
    assert failed.returncode == 1
    assert "no matching distribution" in failed.stderr and "installation failed" in failed.stderr

"""docs/terminal-chat.png from a real `hfchat console` session: the screen that tmux captured (with its
colours, `tmux capture-pane -e -p`) drawn by rich's SVG export, then converted to PNG by rsvg-convert
(Debian's librsvg2-bin). The SVG is not kept: rich's points at a web font.

    python docs/screenshot.py CAPTURE.ansi docs/terminal-chat.png
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.text import Text


def main(capture: Path, png: Path, width: int = 100) -> None:
    lines = capture.read_text(encoding="utf-8").rstrip("\n").splitlines()
    while lines and not re.sub(r"\x1b\[[0-9;]*m", "", lines[-1]).strip():
        lines.pop()
    console = Console(record=True, width=width, force_terminal=True, color_system="truecolor", file=io.StringIO())
    # as one text: tmux writes a colour once where it begins, and it goes on over the next lines
    console.print(Text.from_ansi("\n".join(lines)), no_wrap=True, crop=True)
    svg = console.export_svg(title="hfchat console")
    svg = re.sub(r"@font-face \{.*?\}", "", svg, flags=re.S).replace('"Fira Code"', '"DejaVu Sans Mono"')
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as file:
        file.write(svg)
    subprocess.run(["rsvg-convert", "--zoom", "1.5", "-o", str(png), file.name], check=True)
    Path(file.name).unlink()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

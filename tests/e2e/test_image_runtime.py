"""The Docker image's runtime in a Debian root made with debootstrap: opt-in and slow (about 2 minutes
the first time, debootstrap included; about 1 minute with the base root cached). Run it with

    HFCHAT_IMAGE_TEST=1 python -m pytest -q tests/e2e/test_image_runtime.py

as root, with debootstrap installed (apt-get install debootstrap) and the package registries reachable.
It would have caught the image's missing OpenMP runtime (libgomp1): without the Dockerfile's packages
the local model fails, with them it answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("HFCHAT_IMAGE_TEST") != "1",
        reason="slow (1-2 min) and needs root, debootstrap and the package registries: set HFCHAT_IMAGE_TEST=1",
    ),
]


def test_the_local_model_answers_inside_the_images_root():
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        pytest.fail("HFCHAT_IMAGE_TEST=1 needs root and debootstrap (apt-get install debootstrap)")
    result = subprocess.run(
        [str(ROOT / "scripts" / "check-image-runtime")],
        env=dict(os.environ, PYTHON=sys.executable),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "failed, as expected" in result.stdout and "libgomp" in result.stdout  # the check can fail
    assert "the Dockerfile's system packages: libgomp1" in result.stdout

"""deploy/Dockerfile's build stage, run on this machine (no Docker engine here).

The image installs the package into a fresh venv (``pip install /src``) on a slim image with no
compiler, then generates the replay profile's sample log. Here the same steps run in a clean
venv: the package is built to a wheel, and it is installed with ``--only-binary :all:``, so a
dependency that only ships sources (and would need a compiler in the slim image) fails this test.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"


def build_steps() -> list[str]:
    """The shell commands of the build stage's RUN lines, in order."""
    text = DOCKERFILE.read_text().split(
        "# ---------------------------------------------------------------- runtime"
    )[0]
    runs = re.findall(r"^RUN (.+?)(?<!\\)$", text.replace("\\\n", " "), flags=re.M)
    return [" ".join(run.split()) for run in runs]


@pytest.mark.slow
def test_the_build_stage_installs_from_wheels_only_and_generates_the_sample(tmp_path: Path) -> None:
    install, generate = build_steps()
    assert install == "python -m venv /opt/holdwatch && /opt/holdwatch/bin/pip install /src"
    venv = tmp_path / "opt-holdwatch"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(wheels), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = wheels.glob("holdwatch-*.whl")
    installed = subprocess.run(
        [*pip, "install", "--only-binary", ":all:", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    data = tmp_path / "data"
    command = generate.replace("/opt/holdwatch/bin/", f"{venv}/bin/").replace("/data", str(data))
    made = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    lines = gzip.decompress((data / "sample.jsonl.gz").read_bytes()).splitlines()
    assert len(lines) > 3000  # every booking's events

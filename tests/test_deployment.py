"""scripts/setup.sh and docker-compose.yml do what they say: the torch build comes from the
index named by TORCH_INDEX_URL (else the default index, which serves the CUDA build, and the
script says so), and the compose trainer runs the default nightly job as JSON, if stale."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

STUB = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$(dirname "$0")/../../calls.log"
if [ "$1" = "-c" ]; then echo 2.13.0+stub; fi
"""


def _setup_in(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run a copy of scripts/setup.sh, with ``env`` as its whole environment, whose .venv
    holds stubs that log their arguments."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "kgrec"):
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(stat.S_IRWXU)
    done = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "setup.sh")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return done, (tmp_path / "calls.log").read_text().splitlines()


def test_setup_installs_torch_from_the_index_torch_index_url_names(tmp_path):
    env = {**os.environ, "TORCH_INDEX_URL": "https://example.invalid/whl/cpu"}
    done, calls = _setup_in(tmp_path, env)
    torch = [c for c in calls if "torch==2.13.0" in c]
    assert torch == [
        "python -m pip install --quiet torch==2.13.0 --index-url https://example.invalid/whl/cpu"
    ]
    assert "torch 2.13.0+stub" in done.stderr and ".venv is " in done.stderr


def test_setup_without_an_index_says_it_installs_the_cuda_build(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TORCH_INDEX_URL"}
    done, calls = _setup_in(tmp_path, env)
    assert [c for c in calls if "torch==2.13.0" in c] == [
        "python -m pip install --quiet torch==2.13.0"
    ]
    assert "the CUDA build" in done.stderr and "nvidia-*" in done.stderr
    text = (REPO / "scripts" / "setup.sh").read_text() + (REPO / "README.md").read_text()
    assert "never a multi-GB CUDA download" not in text


def _trainer_command() -> list[str]:
    lines = (REPO / "docker-compose.yml").read_text().splitlines()
    start = lines.index("  trainer:")
    block = []
    for line in lines[start + 1 :]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line.strip())
    [command] = [line for line in block if line.startswith("command:")]
    return json.loads(command.removeprefix("command:"))


def test_compose_trainer_runs_the_default_job_as_json_only_when_stale(tmp_path):
    command = _trainer_command()
    assert "train" in command and "--json" in command and "--if-stale" in command
    assert "--model" not in command  # the default model
    # the options parse: with no store the one JSON document is a store error, not usage
    out = subprocess.run(
        [sys.executable, "-m", "kgrec.cli.main", *command, "--store", str(tmp_path / "none")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["error"]["type"] == "StoreUnavailable"

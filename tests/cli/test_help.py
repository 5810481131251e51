"""The help of the training commands reads its defaults and choices from where they live
(``TrainConfig``, the split kinds, the built-in model names), and ``kgrec --help`` stays
free of torch."""

from __future__ import annotations

import re
import subprocess
import sys

from kgrec.app import BUILTIN_MODELS, SPLIT_KINDS, TrainConfig


def _help(kgrec, *command: str) -> str:
    result = kgrec(*command, "--help", env={"COLUMNS": "200", "TERM": "dumb"})
    assert result.returncode == 0, result.stderr
    return re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", result.stdout))


def test_train_help_shows_the_registry_names_and_train_config_defaults(kgrec):
    text = _help(kgrec, "train")
    assert " | ".join(BUILTIN_MODELS) in text
    assert f"{' | '.join(SPLIT_KINDS)} [{TrainConfig.split}]" in text
    for default in (TrainConfig.epochs, f"{TrainConfig.tolerance:g}", TrainConfig.seed):
        assert f"[{default}]" in text


def test_bench_models_help_defaults_are_train_config_s(kgrec):
    text = _help(kgrec, "bench", "models")
    assert " | ".join(SPLIT_KINDS) in text
    assert f"[default: {TrainConfig.split}]" in text
    assert f"[default: {TrainConfig.epochs}]" in text


def test_help_imports_no_torch():
    code = (
        "import sys\n"
        "from kgrec.cli.main import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip().splitlines()[-1] == "False"

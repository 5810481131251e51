from __future__ import annotations

import sys
from pathlib import Path

from kgrec.gnn.bench import METHODS, compare, format_table

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_compare_has_one_row_per_method(tensors):
    table = compare(tensors, "temporal", epochs=2, knn_ks=(10, 20))
    assert list(table["method"]) == list(METHODS)
    assert {"recall@20", "ndcg@20", "coverage@20", "train_seconds", "seconds_per_epoch"} <= set(
        table.columns
    )
    assert table["recall@20"].between(0, 1).all()
    assert "ItemKNN" in format_table(table)


def test_train_epoch_script_runs(capsys):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from train_epoch import main
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert main(["--sizes", "3000", "--epochs", "2", "--device", "cpu", "--propagation"]) == 0
    out = capsys.readouterr().out
    assert "median epoch s" in out and "3,000" in out and "PyG LGConv" in out

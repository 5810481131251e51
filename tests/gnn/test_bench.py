from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.baselines import ItemKNN, MostPopular
from kgrec.gnn.bench import METHODS, compare, format_table
from kgrec.gnn.evaluate import evaluate
from kgrec.gnn.splits import temporal_split

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_compare_has_one_row_per_method(tensors):
    table = compare(tensors, "temporal", epochs=2, knn_ks=(10, 20))
    assert list(table["method"]) == list(METHODS)
    assert {"recall@20", "ndcg@20", "coverage@20", "train_seconds", "seconds_per_epoch"} <= set(
        table.columns
    )
    assert "ItemKNN" in format_table(table)
    # the harness reports test metrics with validation masked, as evaluate() computes them
    split = temporal_split(tensors)
    rows = table.set_index("method")
    pop = evaluate(MostPopular(tensors, split.train), tensors, split.train, split.test, split.val)
    assert rows.loc["MostPopular", "recall@20"] == pytest.approx(pop["recall@20"])
    assert rows.loc["MostPopular", "coverage@20"] == pytest.approx(pop["coverage@20"])
    # ItemKNN's k is the one best on validation, and the test number is that model's
    val = {k: evaluate(ItemKNN(tensors, split.train, k=k), tensors, split.train, split.val,
                       extras=False)["recall@20"] for k in (10, 20)}  # fmt: skip
    best = max(val, key=lambda k: (val[k], -k))
    assert rows.loc["ItemKNN", "notes"].startswith(f"k={best} ")
    assert rows.loc["ItemKNN", "val/recall@20"] == pytest.approx(val[best])
    # trained methods ran the epochs they were given
    assert (rows.loc[["MF-BPR", "LightGCN+text", "GraphSAGE"], "epochs"] == 2).all()


def test_compare_refuses_an_unknown_method(tensors):
    with pytest.raises(InvalidParameter, match="unknown method 'BERT4Rec'"):
        compare(tensors, methods=["MostPopular", "BERT4Rec"])


def test_train_epoch_script_runs(capsys):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from train_epoch import main
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert main(["--sizes", "3000", "--epochs", "2", "--device", "cpu", "--propagation"]) == 0
    out = capsys.readouterr().out
    assert "median epoch s" in out and "3,000" in out and "PyG LGConv" in out

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.core.memory import retained_heap
from kgrec.gnn.models.baselines import ItemKNN, MostPopular
from kgrec.gnn.training.bench import METHODS, compare, format_table, summarise
from kgrec.gnn.training.evaluate import evaluate
from kgrec.gnn.training.splits import temporal_split

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_compare_chooses_on_validation_then_refits_and_tests(tensors):
    table = compare(tensors, "temporal", epochs=2, grids={"ItemKNN": [{"k": 10}, {"k": 20}]})
    assert list(table["method"]) == list(METHODS)
    assert {"recall@20", "ndcg@20", "coverage@20", "train_seconds", "seconds_per_epoch"} <= set(
        table.columns
    )
    assert "ItemKNN" in format_table(table)
    split = temporal_split(tensors)
    train_val = torch.cat([split.train, split.val]).sort().values
    rows = table.set_index("method")
    # the test numbers are those of the refitted model, with all it was fitted on masked
    pop = evaluate(MostPopular(tensors, train_val), tensors, train_val, split.test)
    assert rows.loc["MostPopular", "recall@20"] == pytest.approx(pop["recall@20"])
    assert rows.loc["MostPopular", "coverage@20"] == pytest.approx(pop["coverage@20"])
    # ItemKNN's k is the one best on validation; the test number is that k refitted
    val = {
        k: evaluate(
            ItemKNN(tensors, split.train, k=k), tensors, split.train, split.val, extras=False
        )["recall@20"]
        for k in (10, 20)
    }
    best = max(val, key=lambda k: (val[k], -k))
    assert rows.loc["ItemKNN", "notes"].startswith(f"k={best} ")
    assert rows.loc["ItemKNN", "val/recall@20"] == pytest.approx(val[best])
    knn = evaluate(ItemKNN(tensors, train_val, k=best), tensors, train_val, split.test)
    assert rows.loc["ItemKNN", "recall@20"] == pytest.approx(knn["recall@20"])
    # trained methods are refitted for their best epoch count (at most the 2 given)
    assert rows.loc[["MF-BPR", "LightGCN+text", "GraphSAGE"], "epochs"].between(1, 2).all()


def test_compare_without_refit_tests_the_validation_model(tensors):
    table = compare(tensors, methods=["MostPopular"], refit=False)
    split = temporal_split(tensors)
    pop = evaluate(MostPopular(tensors, split.train), tensors, split.train, split.test, split.val)
    assert table.loc[0, "recall@20"] == pytest.approx(pop["recall@20"])


def test_seeded_methods_run_once_per_seed_and_summarise_gives_their_spread(tensors):
    table = compare(tensors, epochs=2, methods=["MostPopular", "MF-BPR"], seeds=[0, 1])
    assert table["method"].tolist() == ["MostPopular", "MF-BPR", "MF-BPR"]
    summary = summarise(table).set_index("method")
    mf = table[table["method"] == "MF-BPR"]["recall@20"]
    assert summary.loc["MF-BPR", "seeds"] == 2
    assert summary.loc["MF-BPR", "recall@20"] == pytest.approx(mf.mean())
    assert summary.loc["MF-BPR", "recall@20 sd"] == pytest.approx(mf.std(ddof=0))


def test_compare_refuses_an_unknown_method(tensors):
    with pytest.raises(InvalidParameter, match="unknown method 'BERT4Rec'"):
        compare(tensors, methods=["MostPopular", "BERT4Rec"])


def test_train_epoch_script_runs(capsys):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from train_epoch import main
    finally:
        sys.path.remove(str(BENCHMARKS))
    args = [
        "--sizes",
        "3000",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--propagation",
        "--block-mib",
        "0.05",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "median epoch s" in out and "3,000" in out and "PyG LGConv" in out
    assert "layer_mean, whole CSR (used)" in out and "layer_mean, 0.05 MiB blocks by type" in out
    assert (
        main(["--sizes", "3000", "--epochs", "1", "--device", "cpu", "--profile", "2", "--sampler"])
        == 0
    )
    out = capsys.readouterr().out
    assert "profile of 2 steps" in out and "ms a step" in out and "aten::" in out
    assert "negative sampler, a batch of 4,096 against" in out and "draw " in out
    assert main(["--sizes", "3000", "--epochs", "1", "--device", "cpu", "--heap", "default"]) == 0
    out = capsys.readouterr().out
    assert "heap=default" in out and "faults/epoch" in out
    import kgrec.gnn.training.train

    assert kgrec.gnn.training.train.retained_heap is retained_heap  # the A/B arm is undone
    assert (
        main(["--sizes", "3000", "6000", "--paired", "3", "--warmup", "1", "--device", "cpu"]) == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert "rounds=3 (+1 warm-up)" in lines[0] and "6,000/3,000" in lines[1]
    rounds = [line.split() for line in lines[2:5]]
    assert [r[:2] for r in rounds] == [["round", "0"], ["round", "1"], ["round", "2"]]
    for _, _, small_s, large_s, ratio in rounds:
        small, large = float(small_s), float(large_s)  # printed to the ms: bound the rounding
        slack = 0.005 + 0.0005 * (1 / small + large / small**2)
        assert float(ratio.rstrip("x")) == pytest.approx(large / small, abs=slack)
    median = lines[5].split()
    assert median[0] == "median" and float(median[3].rstrip("x")) == pytest.approx(
        statistics.median(float(r[4].rstrip("x")) for r in rounds), abs=1e-9
    )

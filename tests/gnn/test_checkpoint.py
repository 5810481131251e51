"""Version listing (status, reasons, metrics) and pruning of a model directory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import torch

from kgrec.core.errors import InvalidParameter
from kgrec.gnn.baselines import MFBPR
from kgrec.gnn.checkpoint import (
    list_versions,
    live_version,
    load_live,
    promote,
    prune_versions,
    record_event,
    save_version,
)


@pytest.fixture()
def four_versions(tensors, tmp_path):
    """Four MF versions, oldest first; the second is live, the first was promoted before it,
    the third rejected, the fourth written and never judged."""
    names = []
    for j in range(4):
        torch.manual_seed(j)
        model = MFBPR.from_tensors(tensors, embedding_dim=4)
        metrics = {"val/recall@20": 0.1 * (j + 1), "recall@20": 0.05 * (j + 1), "ndcg@20": 0.01}
        vdir = save_version(tmp_path, model, "mf", config={}, id_maps=tensors.id_maps(),
                            metrics=metrics)  # fmt: skip
        names.append(vdir.name)
    promote(tmp_path, tmp_path / "versions" / names[0])
    promote(tmp_path, tmp_path / "versions" / names[1])
    record_event(tmp_path, names[2], "rejected", "val/recall@20 0.3000 < live 0.9000 - 0.01")
    return tmp_path, names


def test_list_versions_gives_status_reason_created_and_metrics(four_versions):
    model_dir, names = four_versions
    rows = list_versions(model_dir)
    assert [r["version"] for r in rows] == names
    assert [r["status"] for r in rows] == ["promoted earlier", "live", "rejected", "not promoted"]
    assert [r["live"] for r in rows] == [False, True, False, False]
    assert rows[2]["reason"] == "val/recall@20 0.3000 < live 0.9000 - 0.01"
    assert [r["reason"] for r in rows[:2] + rows[3:]] == [None, None, None]
    assert [r["val/recall@20"] for r in rows] == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert rows[3]["recall@20"] == pytest.approx(0.2) and rows[0]["ndcg@20"] == 0.01
    assert {r["model"] for r in rows} == {"mf"} and {r["problem"] for r in rows} == {None}
    for row in rows:
        created = datetime.fromisoformat(row["created"])
        assert created.tzinfo is not None
        assert abs((datetime.now(UTC) - created).total_seconds()) < 3600
    assert [r["created"] for r in rows] == sorted(r["created"] for r in rows)


def test_prune_keeps_the_newest_and_the_live_one(four_versions):
    model_dir, names = four_versions
    removed = prune_versions(model_dir, keep=1)
    assert removed == [names[0], names[2]]  # the live one (names[1]) stays
    assert [r["version"] for r in list_versions(model_dir)] == [names[1], names[3]]
    assert live_version(model_dir) == names[1]
    assert load_live(model_dir).user_embeddings.shape[1] == 4
    assert prune_versions(model_dir, keep=1) == []


def test_prune_never_touches_a_version_being_written(four_versions):
    model_dir, names = four_versions
    partial = model_dir / "versions" / f".tmp-20990101T000000000000Z-mf-{1}"
    partial.mkdir()
    assert prune_versions(model_dir, keep=3) == [names[0]]
    assert partial.is_dir()


@pytest.mark.parametrize("keep", [0, -2])
def test_prune_refuses_to_keep_nothing(four_versions, keep):
    model_dir, names = four_versions
    with pytest.raises(InvalidParameter, match=f"keep must be >= 1.*got {keep}"):
        prune_versions(model_dir, keep=keep)
    assert len(list_versions(model_dir)) == len(names)


def test_the_application_prunes_under_the_model_directory_lock(four_versions):
    from kgrec.app.training import model_versions
    from kgrec.app.training import prune_versions as prune
    from kgrec.core.errors import ModelDirLocked
    from kgrec.gnn.checkpoint import model_dir_lock

    model_dir, names = four_versions
    with model_dir_lock(model_dir, "kgrec train"):
        with pytest.raises(ModelDirLocked, match="another kgrec train holds"):
            prune(model_dir, keep=1)
    assert len(model_versions(model_dir)) == 4
    assert prune(model_dir, keep=2) == [names[0]]
    assert [r["version"] for r in model_versions(model_dir)] == names[1:]

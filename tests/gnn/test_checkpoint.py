"""Version listing (status, reasons, metrics) and pruning of a model directory."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
import torch

from kgrec.core.errors import InvalidParameter, ModelCorrupt, UnknownModelVersion
from kgrec.gnn.models.baselines import MFBPR
from kgrec.gnn.versions import (
    history,
    list_versions,
    live_version,
    load_live,
    promote,
    prune_versions,
    record_event,
    rollback_target,
    save_version,
    verify_files,
    verify_version,
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
        vdir = save_version(
            tmp_path, model, "mf", config={}, id_maps=tensors.id_maps(), metrics=metrics
        )
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


def test_prune_keeps_the_live_one_and_reports_what_it_kept_and_removed(four_versions):
    model_dir, names = four_versions
    out = prune_versions(model_dir, keep=1)
    assert out == {"kept": [names[1]], "removed": [names[0], names[2], names[3]]}
    assert [r["version"] for r in list_versions(model_dir)] == [names[1]]
    assert live_version(model_dir) == names[1]
    assert load_live(model_dir).user_embeddings.shape[1] == 4
    assert prune_versions(model_dir, keep=1) == {"kept": [names[1]], "removed": []}


def test_prune_prefers_earlier_live_versions_over_unjudged_over_rejected(four_versions):
    model_dir, names = four_versions  # promoted earlier, live, rejected, not promoted
    assert prune_versions(model_dir, keep=2) == {"kept": names[:2], "removed": names[2:]}


def test_prune_prefers_an_unjudged_version_over_a_rejected_one(four_versions):
    model_dir, names = four_versions
    assert prune_versions(model_dir, keep=3)["removed"] == [names[2]]


def test_prune_never_removes_the_last_promoted_version(four_versions):
    model_dir, names = four_versions
    (model_dir / "live").unlink()  # live pointed elsewhere by hand, or lost
    assert live_version(model_dir) is None
    out = prune_versions(model_dir, keep=1)
    assert out["kept"] == [names[1]]  # the last promotion's version


def test_prune_never_touches_a_version_being_written(four_versions):
    model_dir, names = four_versions
    partial = model_dir / "versions" / f".tmp-20990101T000000000000Z-mf-{1}"
    partial.mkdir()
    assert prune_versions(model_dir, keep=3)["removed"] == [names[2]]
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
    from kgrec.gnn.versions import model_dir_lock

    model_dir, names = four_versions
    with model_dir_lock(model_dir, "kgrec train"):
        with pytest.raises(ModelDirLocked, match="another kgrec train holds"):
            prune(model_dir, keep=1)
    assert len(model_versions(model_dir)) == 4
    assert prune(model_dir, keep=3) == {
        "kept": [names[0], names[1], names[3]],
        "removed": [names[2]],
    }
    assert [r["version"] for r in model_versions(model_dir)] == [names[0], names[1], names[3]]


def test_promoting_an_older_version_is_recorded_as_a_rollback(four_versions):
    model_dir, names = four_versions  # live: names[1], promoted before it: names[0]
    assert rollback_target(model_dir).name == names[0]
    assert promote(model_dir, model_dir / "versions" / names[0]) == "rollback"
    last = history(model_dir)[-1]
    assert (last["version"], last["event"], last["previous"]) == (names[0], "rollback", names[1])
    rows = {r["version"]: r for r in list_versions(model_dir)}
    assert rows[names[0]]["status"] == "live" and rows[names[0]]["event"] == "rollback"
    assert rows[names[0]]["reason"] == f"rolled back from {names[1]}"
    assert rows[names[1]]["status"] == "promoted earlier"
    with pytest.raises(UnknownModelVersion, match="no version that was live before"):
        rollback_target(model_dir)  # names[1] was rolled back from, names[0] is live
    assert promote(model_dir, model_dir / "versions" / names[3]) == "promoted"


def test_versions_carry_sha256s_that_find_a_changed_file(four_versions):
    model_dir, names = four_versions
    live = model_dir / "versions" / names[1]
    manifest = json.loads((live / "manifest.json").read_text())
    assert set(manifest["files"]) == {
        "model.pt",
        "config.json",
        "id_maps.json",
        "metrics.json",
        "embeddings.pt",
    }
    assert verify_files(live) is True
    assert all(r["checksums"] and r["problem"] is None for r in list_versions(model_dir))
    size = (live / "model.pt").stat().st_size
    (live / "model.pt").write_bytes(os.urandom(size))  # same size, random bytes
    with pytest.raises(ModelCorrupt, match="model.pt is corrupt: its sha256 differs"):
        verify_files(live)
    rows = {r["version"]: r for r in list_versions(model_dir)}
    assert "model.pt is corrupt: its sha256 differs" in rows[names[1]]["problem"]
    assert [r["problem"] for r in rows.values()].count(None) == 3
    with pytest.raises(ModelCorrupt, match="sha256"):
        verify_version(live)


def test_a_version_saved_without_a_manifest_loads_and_its_archives_are_checked(four_versions):
    model_dir, names = four_versions
    live = model_dir / "versions" / names[1]
    (live / "manifest.json").unlink()  # as saved before manifests
    assert verify_files(live) is False
    assert verify_version(live).user_embeddings.shape[1] == 4
    row = list_versions(model_dir)[1]
    assert (row["checksums"], row["problem"]) == (False, None)
    (live / "model.pt").write_bytes(os.urandom(4096))
    assert (
        "model.pt is corrupt: it is not a PyTorch archive" in list_versions(model_dir)[1]["problem"]
    )


def test_history_with_bytes_that_are_not_utf8_is_read_line_by_line(four_versions, caplog):
    model_dir, names = four_versions
    with open(model_dir / "history.jsonl", "ab") as fh:
        fh.write(b'{"version": "x\xff\xfe", "event": "promoted"}\n')
    record_event(model_dir, names[3], "rejected", "after the bad line")
    rows = list_versions(model_dir)
    assert [r["status"] for r in rows] == ["promoted earlier", "live", "rejected", "rejected"]
    assert "skipped 1 line(s) that are not UTF-8 JSON events (line 4)" in caplog.text

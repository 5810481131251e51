"""Versioned model directories and the atomically swapped ``live`` link.

Layout::

    MODEL_DIR/
      versions/<UTC timestamp>-<model>/   model.pt, config.json, id_maps.json,
                                          metrics.json, embeddings.pt
                                          [what the model keeps beside its weights:
                                           EmbeddingModel.saved_extras, e.g. ease's
                                           aggregator.pt, its cold-user aggregator]
                                          manifest.json: size and sha256 of each file
      live -> versions/<...>              relative symlink
      history.jsonl                       promoted / rollback / rejected events

A version is written into ``versions/.tmp-...``, every file and the directory fsynced, then
renamed into place; ``live`` is replaced by creating a temporary symlink and ``os.replace``-ing
it over the old one, then fsyncing ``MODEL_DIR``. A process killed at any point leaves either
the old or the new ``live``, never a half-written one; leftover ``.tmp-*`` directories of dead
processes are removed by :func:`clean_partial`.

The model directory, the version directories and every file in them are private: created
``0700`` / ``0600`` whatever the umask. :func:`model_dir_lock` (``MODEL_DIR/.train.lock``, an
exclusive ``flock``) keeps two jobs from writing one model directory at once.

Loading checks every file: a missing, empty, truncated or malformed file, or id maps that
do not match the embeddings, raises :class:`~kgrec.core.errors.ModelCorrupt` naming the file and
the fix. :func:`verify_files` (run by :func:`list_versions` and :func:`verify_version`)
compares every file with the size and sha256 that ``manifest.json`` recorded at save, so a
file changed or damaged after its version was written is found before the version is called
healthy; a version saved before manifests existed has its ``.pt`` archives' CRCs checked
instead, and still loads. Tensors are read with ``torch.load(weights_only=True)``: a pickle
that would run code is refused, not executed.

Modules, by concern: :mod:`.layout` (names, directories, the ``live`` path, the lock),
:mod:`.manifest` (writing a version, its checksums and file checks), :mod:`.history`
(``history.jsonl``), :mod:`.live` (promotion, rollback, listing, pruning) and :mod:`.load`
(:class:`LoadedModel`); every name below is imported from here.
"""

from __future__ import annotations

from kgrec.gnn.versions.history import (
    history,
    record_event,
)
from kgrec.gnn.versions.layout import (
    FILES,
    FIX,
    HEADLINE_METRICS,
    HISTORY_FILE,
    LIVE_EVENTS,
    LOCK_FILE,
    MANIFEST_FILE,
    clean_partial,
    ensure_model_dir,
    live_dir,
    live_version,
    model_dir_lock,
    resolve_version,
)
from kgrec.gnn.versions.live import (
    list_versions,
    promote,
    prune_versions,
    rollback_target,
)
from kgrec.gnn.versions.load import (
    LoadedModel,
    load_live,
    load_version,
    verify_version,
)
from kgrec.gnn.versions.manifest import (
    save_version,
    verify_files,
)

__all__ = [
    "FILES",
    "FIX",
    "HEADLINE_METRICS",
    "HISTORY_FILE",
    "LIVE_EVENTS",
    "LOCK_FILE",
    "LoadedModel",
    "MANIFEST_FILE",
    "clean_partial",
    "ensure_model_dir",
    "history",
    "list_versions",
    "live_dir",
    "live_version",
    "load_live",
    "load_version",
    "model_dir_lock",
    "promote",
    "prune_versions",
    "record_event",
    "resolve_version",
    "rollback_target",
    "save_version",
    "verify_files",
    "verify_version",
]

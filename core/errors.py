"""Project exceptions. Every message says what went wrong, the value at fault and the fix."""

from __future__ import annotations

from pathlib import Path


class KgrecError(Exception):
    """Base class of every error kgrec raises on purpose."""


class StoreUnavailable(KgrecError):
    """The graph store cannot be reached, started or opened."""


class StoreLocked(StoreUnavailable):
    """The embedded store's directory is held by a server that no longer answers."""


class StoreRecovering(StoreLocked):
    """The embedded store's server is still replaying its append-only file after a crash;
    it answers once the replay ends (nothing is lost)."""


class ForeignOwner(KgrecError):
    """A folder or file kgrec would use (store, cache, models) belongs to another user."""


class CypherError(KgrecError):
    """The store rejected a statement (syntax, constraint or runtime error)."""


class QueryNotFound(KgrecError):
    """A named query does not exist in the catalogue."""


class QueryParameterError(KgrecError):
    """A query parameter is missing, unknown or of the wrong type."""


class DatasetError(KgrecError):
    """Input data is malformed. Carries the file, the 1-based line and the field at fault."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.reason = message
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class InvalidParameter(DatasetError, ValueError):
    """An argument of a reader or generator is impossible (also a ``ValueError``)."""


class ModelNotTrained(KgrecError):
    """No (live) model exists where one is needed."""


class UnknownIdError(KgrecError):
    """A user or item id is not in the graph or not known to the model."""


class ModelCorrupt(ModelNotTrained):
    """A model file is missing, unreadable or inconsistent with the others of its version.

    Attributes:
        path: the file at fault.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else None
        super().__init__(message)


class UnknownModelVersion(ModelNotTrained):
    """A model version named by the caller does not exist in the model directory."""


class ModelDirLocked(KgrecError):
    """Another process (a ``kgrec train``, ``model repair`` or ``model promote``) holds the
    model directory's lock."""


class TrainingDataError(KgrecError):
    """The graph holds too little data to train on (no interactions, nothing to split)."""


class PlanDoesNotFit(KgrecError):
    """A job's predicted peak memory exceeds what it may use; nothing was started."""


class WriteBackFailed(KgrecError):
    """A version was promoted, but writing its outputs back to the store failed."""


class UnknownTagError(UnknownIdError):
    """A tag filter names a tag that no item carries.

    Attributes:
        tag: the tag as given.
        close_matches: known tags spelled like it (may be empty).
    """

    def __init__(self, tag: str, close_matches: list[str] | None = None) -> None:
        self.tag = tag
        self.close_matches = list(close_matches or [])
        hint = (
            f"; did you mean {', '.join(map(repr, self.close_matches))}?"
            if self.close_matches
            else "; no known tag is spelled like it"
        )
        super().__init__(f"unknown tag {tag!r}: no item carries it{hint}")


class WriteInReadMode(CypherError):
    """A statement sent in read mode tried to write; send it in write mode instead."""


class QueryTimeout(CypherError):
    """A statement ran past its time limit and was stopped by the store."""


class QueryRefused(CypherError):
    """A statement was refused before it reached the store: too long, nested too deep,
    more than one statement, or syntax the store does not support."""


class UnknownModel(KgrecError):
    """A model name is not in the registry of trainable models."""


__all__ = [
    "KgrecError",
    "StoreUnavailable",
    "StoreLocked",
    "StoreRecovering",
    "ForeignOwner",
    "CypherError",
    "QueryNotFound",
    "QueryParameterError",
    "DatasetError",
    "InvalidParameter",
    "ModelNotTrained",
    "UnknownIdError",
    "ModelCorrupt",
    "UnknownModelVersion",
    "ModelDirLocked",
    "TrainingDataError",
    "PlanDoesNotFit",
    "WriteBackFailed",
    "UnknownTagError",
    "WriteInReadMode",
    "QueryTimeout",
    "QueryRefused",
    "UnknownModel",
]

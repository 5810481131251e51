"""The graph store: connect, schema, batched writes, export and vector search."""

from kgrec.kg.store import GraphStore, WriteCounters, is_server_uri, open_store

__all__ = ["GraphStore", "WriteCounters", "is_server_uri", "open_store"]

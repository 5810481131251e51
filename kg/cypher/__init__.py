"""The store layer's own Cypher statements, one per ``.cypher`` file (package data)."""

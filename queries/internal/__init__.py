"""The application's internal Cypher statements, one per ``.cypher`` file (package data)."""

"""Named Cypher queries (``*.cypher``) and the code that runs them."""

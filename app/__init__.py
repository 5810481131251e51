"""The application: ingest, train / promote / write-back, the Recommender, the analyst's
queries, store administration and measurements. The CLI calls this layer only."""

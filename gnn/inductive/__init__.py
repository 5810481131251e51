"""Vectors for users and items the last training did not see: fold-in from a history
(:mod:`.foldin`) and the cold-user aggregator (:mod:`.aggregator`, fitted by
:mod:`.aggregator_fit` on the tasks of :mod:`.tasks`)."""

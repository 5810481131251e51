"""Explanations, one home per concept.

- :mod:`.types`: the public result types (recommendations, explanations, paths).
- :mod:`.candidates`: which paths to consider, read from the store.
- :mod:`.weights`: each path's exact term of the score, by the model's own decomposition.
- :mod:`.wording`: every sentence an explanation tells.
- :mod:`.explanations`: the three put together for a user and a batch of items.
- :mod:`.html`: one explanation drawn as a self-contained page.
- :mod:`.quality`: coverage and faithfulness, measured.
"""

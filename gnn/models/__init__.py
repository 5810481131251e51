"""The models behind one contract (:mod:`.model`) and one registry (:mod:`.registry`): the
default EASE (closed form, dense or low-rank), LightGCN and GraphSAGE (one propagation
operator, :mod:`.propagation`), the baselines, and each model's exact score decomposition
for explanations (:mod:`.paths`)."""

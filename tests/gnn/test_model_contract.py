"""The contract every registered model keeps: build, train briefly, save, load, same scores.

A new model passes by registering itself; nothing here names a model.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from kgrec.core.errors import InvalidParameter, UnknownModel
from kgrec.core.settings import DEFAULT_MODEL
from kgrec.gnn.models.model import EmbeddingModel, Embeddings
from kgrec.gnn.models.registry import (
    BUILTIN_MODELS,
    BUILTIN_MODULES,
    build_model,
    model_class,
    model_names,
)
from kgrec.gnn.training.config import TrainConfig
from kgrec.gnn.training.splits import temporal_split
from kgrec.gnn.training.train import fit
from kgrec.gnn.versions import load_version, save_version

from .conftest import make_world

NAMES = model_names()


@pytest.fixture(scope="module")
def small():
    """A small synthetic world with text vectors and its temporal split."""
    tensors = make_world(num_users=40, num_items=60, num_tags=8, num_interactions=900, seed=2)[2]
    return tensors, temporal_split(tensors)


@pytest.fixture(scope="module", params=NAMES)
def trained(request, small, tmp_path_factory):
    """``(name, model, version_dir)``: each model fitted for 2 epochs and saved."""
    tensors, split = small
    torch.manual_seed(0)
    model = build_model(request.param, tensors, split.train)
    fit(model, tensors, split, epochs=2, batch_size=256, device="cpu")
    version = save_version(
        tmp_path_factory.mktemp(request.param),
        model,
        request.param,
        config={},
        id_maps=tensors.id_maps(),
        metrics={},
    )
    return request.param, model, version


def test_the_builtin_models_are_registered():
    assert {"lightgcn", "graphsage", "mf", "ease"} <= set(NAMES)


def test_the_builtin_names_are_those_the_builtin_modules_register():
    """``BUILTIN_MODELS`` (what the command line offers without importing torch) lists
    every model of the built-in modules once, the default first."""
    builtin = [n for n in NAMES if model_class(n).__module__ in BUILTIN_MODULES]
    assert sorted(BUILTIN_MODELS) == sorted(builtin)
    assert BUILTIN_MODELS[0] == DEFAULT_MODEL


def test_registry_name_is_the_class_name_attribute(trained):
    name, model, _ = trained
    assert isinstance(model, EmbeddingModel)
    assert model_class(name) is type(model) and type(model).name == name
    assert repr(model).startswith(f"{type(model).__name__}(")


def test_forward_returns_embeddings_of_every_user_and_item(trained, small):
    tensors, _ = small
    _, model, _ = trained
    out = model.train()()
    assert isinstance(out, Embeddings)
    dim = out.users.size(1)
    assert out.users.shape == out.users0.shape[:1] + (dim,) == (tensors.num_users, dim)
    assert out.items.shape == (tensors.num_items, dim)
    assert out.users0.size(0) == tensors.num_users and out.items0.size(0) == tensors.num_items
    assert out.users.requires_grad or model.closed_form  # gradient training needs it
    model.eval()


def test_score_users_is_the_dot_product_of_final_embeddings(trained):
    _, model, _ = trained
    users, items = model.final_embeddings()
    got = model.score_users(torch.tensor([0, 2, 5]))
    torch.testing.assert_close(got, users[[0, 2, 5]] @ items.T)
    assert model.score(2, 3) == pytest.approx(float(users[2] @ items[3]), rel=1e-6)


def test_saved_version_loads_back_with_the_same_scores(trained):
    name, model, version = trained
    loaded = load_version(version)
    assert loaded.name == name
    clone = loaded.model()
    assert type(clone) is type(model) and not clone.training
    users = torch.arange(7)
    torch.testing.assert_close(clone.score_users(users), model.score_users(users))
    torch.testing.assert_close(loaded.user_embeddings, model.final_embeddings()[0])
    torch.testing.assert_close(loaded.item_embeddings, model.final_embeddings()[1])


def test_config_round_trip(trained):
    _, model, _ = trained
    config = model.config()
    fresh = type(model).from_config(config)
    assert fresh.config() == config
    assert {k: v.shape for k, v in fresh.named_parameters()} == {
        k: v.shape for k, v in model.named_parameters()
    }
    clone = type(model).from_state(config, model.state_dict())
    torch.testing.assert_close(
        clone.score_users(torch.arange(3)), model.score_users(torch.arange(3))
    )


def test_train_defaults_are_training_settings(trained):
    _, model, _ = trained
    config = TrainConfig.for_model(type(model).name)
    for key, value in type(model).train_defaults.items():
        assert getattr(config, key) == value


def test_a_path_scorer_decomposes_this_models_scores(trained):
    """Models without an exact decomposition say so (None); a scorer works on the model's
    own final states (its exactness is tested in test_paths.py)."""
    _, model, _ = trained
    scorer = model.path_scorer()
    if scorer is None:
        assert type(model).path_scorer is EmbeddingModel.path_scorer
        return
    users, items = (t.double().numpy() for t in model.final_embeddings())
    u = scorer.node("user", torch.arange(len(users)).numpy())
    i = scorer.node("item", torch.arange(len(items)).numpy())
    assert scorer.final is not None
    assert abs(scorer.final[u] - users).max() < 1e-5
    assert abs(scorer.final[i] - items).max() < 1e-5


def test_unknown_name_raises_the_typed_error_naming_the_known_models(small):
    tensors, split = small
    with pytest.raises(UnknownModel) as err:
        build_model("transformer", tensors, split.train)
    message = str(err.value)
    assert "'transformer'" in message
    for name in NAMES:
        assert name in message


def test_train_config_holds_each_default_once_and_refuses_unknown_settings():
    base = TrainConfig()
    assert TrainConfig.epochs == base.epochs  # readable without building one (the CLI does)
    tuned = TrainConfig.for_model("lightgcn", epochs=7, split="random")
    assert (tuned.epochs, tuned.split, tuned.reg) == (7, "random", base.reg)
    with pytest.raises(InvalidParameter, match="unknown training setting learning_rate"):
        base.replace(learning_rate=0.1)
    with pytest.raises(InvalidParameter, match="batch_size must be >= 1, got 0"):
        TrainConfig(batch_size=0)
    with pytest.raises(UnknownModel):
        TrainConfig.for_model("transformer")


def test_users_and_items_training_did_not_see_are_answered_by_the_model(trained, small):
    """A new user's vector, a new item's place and history vectors come from the model's own
    methods; each either answers or says it cannot (None), never raises."""
    from kgrec.gnn.models.model import History, has_history_vectors

    tensors, _ = small
    _, model, _ = trained
    _, items = (t.double().numpy() for t in model.final_embeddings())
    liked = np.array([1, 4, 9], dtype=np.int64)
    history = History(
        user=None,
        items=liked,
        trained=np.ones(3, dtype=bool),
        ts=np.arange(3, dtype=np.int64),
        ratings=np.full(3, np.nan),
        recorded=np.ones(3, dtype=bool),
        changed=True,
        vectors=items[liked],
        placed={},
    )
    node = model.fold_in_user(history)
    assert node is not None and node.vector.shape == (items.shape[1],)
    known = replace(history, user=0, recorded=np.zeros(3, dtype=bool), changed=False)
    assert model.fold_in_user(known) is None  # nothing recorded since: the trained vector
    text = tensors.item_text[:2].double().numpy()
    placed = model.place_items([text[0], None], [[0, 1], []])
    assert len(placed) == 2
    for state in placed:
        assert state is None or state.vector.shape == (items.shape[1],)
    got = model.history_vector(liked, np.arange(3, dtype=np.int64))
    assert (got is not None) == has_history_vectors(type(model))

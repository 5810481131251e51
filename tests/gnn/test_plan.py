"""The job's plan: predicted peak memory and time from the graph's counts, and the refusal
of a plan that does not fit the memory the job may use."""

from __future__ import annotations

import pytest

from kgrec.core.errors import UnknownModel
from kgrec.gnn.training.plan import BUDGET_SHARE, GraphSize, machine_speed, plan_job


def _size(users: int, items: int, interactions: int) -> GraphSize:
    return GraphSize(users, items, interactions, num_tags=50, num_item_edges=3 * items)


@pytest.mark.parametrize("model", ["lightgcn", "ease"])
def test_the_plan_grows_with_the_data(model):
    small = plan_job(
        _size(1_000, 500, 20_000),
        model,
        epochs=10,
        refit=True,
        aggregator=True,
        available=8 * 2**30,
    )
    large = plan_job(
        _size(100_000, 50_000, 2_000_000),
        model,
        epochs=10,
        refit=True,
        aggregator=True,
        available=8 * 2**30,
    )
    assert large.peak_bytes > small.peak_bytes > 0
    assert large.seconds > small.seconds > 0
    assert small.budget_bytes == int(BUDGET_SHARE * 8 * 2**30)
    assert small.fits_memory
    line = large.describe()
    assert "2,000,000 interactions" in line and "50,000 items" in line and "peak about" in line


def test_a_plan_over_the_limit_is_refused_with_the_fix():
    plan = plan_job(
        _size(100_000, 50_000, 2_000_000),
        "lightgcn",
        epochs=10,
        refit=True,
        aggregator=False,
        memory_limit=64 * 2**20,
        available=8 * 2**30,
    )
    assert not plan.fits_memory and plan.budget_bytes == 64 * 2**20
    refusal = plan.refusal()
    assert "64 MiB" in refusal and "KGREC_MEMORY_LIMIT" in refusal
    assert "ease" in refusal  # the fix names the model whose memory grows linearly
    assert plan.as_dict()["fits_memory"] is False


def test_fits_count_the_refit_and_the_aggregators_second_solve():
    size = _size(1_000, 500, 20_000)
    one = plan_job(size, "ease", epochs=1, refit=False, aggregator=False, available=2**34)
    three = plan_job(size, "ease", epochs=1, refit=True, aggregator=True, available=2**34)
    gradient = plan_job(size, "lightgcn", epochs=1, refit=True, aggregator=True, available=2**34)
    assert (one.fits, three.fits, gradient.fits) == (1, 3, 2)  # no aggregator for lightgcn
    assert three.seconds == pytest.approx(3 * one.seconds, rel=0.01)


def test_an_unknown_model_has_no_plan():
    with pytest.raises(UnknownModel):
        plan_job(_size(10, 10, 100), "nope", epochs=1, refit=False, aggregator=False)


def test_machine_speed_is_measured_once():
    dense, sparse = machine_speed()
    assert dense > 0 and sparse > 0 and machine_speed() == (dense, sparse)

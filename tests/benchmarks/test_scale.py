"""benchmarks/scale.py at a tiny size on the embedded store: every stage runs in its own
process and reports positive figures; growth factors are the printed seconds' ratios."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def scale():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import scale
    finally:
        sys.path.remove(str(BENCHMARKS))
    return scale


HEADER = [
    "store",
    "size",
    "users",
    "items",
    "stage",
    "status",
    "wall s",
    "CPU s",
    "peak RSS MB",
    "store MB",
    "growth",
    "CPU growth",
    "detail",
]


def _table(printed: str) -> list[dict[str, str]]:
    """The rows of the markdown table the script printed, by column name."""
    lines = [line for line in printed.splitlines() if line.startswith("|")]
    assert [c.strip() for c in lines[0].strip("|").split("|")] == HEADER
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    return [dict(zip(HEADER, row, strict=True)) for row in rows]


def test_scale_runs_every_stage_in_its_own_process(scale, tmp_path, capsys) -> None:
    out = tmp_path / "results.json"
    args = [
        "--sizes",
        "2k",
        "--users",
        "25",
        "--items",
        "150",
        "--stores",
        "embedded",
        "--workdir",
        str(tmp_path / "work"),
        "--out",
        str(out),
        "--requests",
        "10",
        "--timeout-per-stage",
        "240",
    ]
    assert scale.main(args) == 0
    (run,) = json.loads(out.read_text())["runs"]
    assert (run["size"], run["users"], run["items"]) == ("2k", 25, 150)
    assert list(run["stages"]) == list(scale.STAGES)
    for name, stage in run["stages"].items():
        assert stage["status"] == "ok", (name, stage)
        assert stage["wall_s"] > 0 and stage["cpu_s"] > 0 and stage["peak_rss_mb"] > 0
        if name != "generate":  # every other stage talks to the store's server
            assert stage["store_rss_mb"] > 0, name
    assert run["stages"]["generate"]["interactions"] == 2000
    for name in ("recommend", "similar"):
        assert 0 < run["stages"][name]["p50_ms"] <= run["stages"][name]["p99_ms"]
        assert run["stages"][name]["calls"] == 10
    assert run["stages"]["open"]["open_s"] > 0
    assert run["stages"]["query"]["rows"] > 0

    table = _table(capsys.readouterr().out)
    assert [r["stage"] for r in table] == [*scale.STAGES, "ingest + train"]
    for r, (name, stage) in zip(table, run["stages"].items(), strict=False):
        assert (r["status"], float(r["wall s"])) == ("ok", stage["wall_s"]), name
        assert float(r["CPU s"]) > 0 and float(r["peak RSS MB"]) > 0 and r["growth"] == "-"
    assert float(table[-1]["wall s"]) == pytest.approx(
        float(table[1]["wall s"]) + float(table[2]["wall s"]), abs=0.011
    )


def test_growth_is_the_ratio_of_the_printed_seconds(scale, tmp_path, capsys) -> None:
    args = [
        "--sizes",
        "2k,4k",
        "--users",
        "40",
        "--items",
        "150",
        "--stages",
        "generate",
        "--workdir",
        str(tmp_path / "work"),
    ]
    assert scale.main(args) == 0
    small, large = _table(capsys.readouterr().out)
    assert (small["size"], large["size"], small["growth"]) == ("2k", "4k", "-")
    assert small["status"] == large["status"] == "ok"
    a, b = float(small["wall s"]), float(large["wall s"])
    slack = 0.005 + 0.005 * (1 / a + b / a**2)  # printed to 0.01 s: bound the rounding
    assert float(large["growth"].rstrip("x")) == pytest.approx(b / a, abs=slack)
    a, b = float(small["CPU s"]), float(large["CPU s"])
    slack = 0.005 + 0.005 * (1 / a + b / a**2)
    assert float(large["CPU growth"].rstrip("x")) == pytest.approx(b / a, abs=slack)


def test_a_stage_without_the_stage_it_needs_is_refused(scale) -> None:
    with pytest.raises(SystemExit, match="stage train needs stage ingest"):
        scale.main(["--sizes", "2k", "--stages", "generate,train"])


def test_shape_follows_movielens_25m(scale) -> None:
    ml25m = scale.shape(25_000_000)
    assert (ml25m["users"], ml25m["items"]) == (scale.ML25M_USERS, scale.ML25M_ITEMS)
    small, large = scale.shape(1_000_000), scale.shape(4_000_000)
    assert large["users"] == pytest.approx(4 * small["users"], abs=1)
    assert large["items"] == pytest.approx(2 * small["items"], abs=1)
    assert [scale.parse_size(s) for s in ("100k", "1M", "2.5M", "5000")] == [
        100_000,
        1_000_000,
        2_500_000,
        5_000,
    ]

"""Scale benchmark: the operator's whole path by stage, one data size at a time.

For each store (``--stores embedded,neo4j``) and size (``--sizes``, in interactions), each stage
runs in a fresh process, so its wall time and peak memory are its own:

- ``generate``: the synthetic world (:func:`kgrec.loaders.synthetic.generate_synthetic`),
  written as ``interactions.csv`` (user_id, item_id, rating, ts) and ``items.csv`` (id,
  title, description, tags). Not part of the operator's path; shown for scale.
- ``ingest``: ``kgrec ingest csv`` of those files with an empty embedding cache, so every
  item and tag text is embedded.
- ``train``: ``kgrec train``, the default job (choice on validation, refit, cold-user
  aggregator, promotion, write-back).
- ``open``: a cold ``Recommender.open`` (store server stopped, as after the nightly job).
- ``recommend``: ``recommend(user, k=10, explain=True)`` for ``--requests`` users (after 5
  warm-up calls), p50 / p99.
- ``similar``: ``similar_items(item, k=10)`` for ``--requests`` items, p50 / p99.
- ``query``: the analyst library's ``also_liked`` for the most interacted item (k=10).

Peak RSS is the stage process's high-water mark (``wait4``'s ``ru_maxrss``); for the embedded
store, ``store MB`` is the FalkorDB server's (``VmHWM``, sampled while the stage runs: the
server starts with the stage's first connection and stops with its last). A stage that runs
past ``--timeout-per-stage`` is killed and reported as ``timeout`` with the last line it
printed; the stages that need its output are ``skipped``. Growth is the ratio of a stage's
wall seconds to the previous size's (same store).

Shapes follow MovieLens 25M (25M interactions, 162,000 users, 62,000 items): users grow with
the interactions (154 a user: 100k has 648 users, 1M 6,480), items with their square root
(catalogues grow more slowly than activity: 100k has 3,921 items, 1M 12,400, 5M 27,726);
item popularity is Zipf-like, user activity log-normal with MovieLens 25M's tail
(``activity_sigma`` 1.25: mean 2.2x the median); ratings, timestamps, titles, descriptions
and 2-4 tags an item out of ``items / 20`` (10 to 100). ``--users`` / ``--items`` fix them
at every size instead; ``--stages`` runs some stages only (with the stages they need).

    python benchmarks/scale.py [--sizes 100k,1M] [--stores embedded,neo4j] [--out results.json]
        [--timeout-per-stage 900] [--requests 200] [--workdir /tmp/kgrec-scale]
        [--stages generate,ingest,train] [--users N] [--items N]

Neo4j: ``KGREC_SCALE_NEO4J_URI`` (bolt://...; NEO4J_USER / NEO4J_PASSWORD), whose database is
WIPED before each size.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ML25M_INTERACTIONS, ML25M_USERS, ML25M_ITEMS = 25_000_000, 162_000, 62_000
NUM_TAGS = 100
ACTIVITY_SIGMA = 1.25
STAGES = ("generate", "ingest", "train", "open", "recommend", "similar", "query")
#: What each stage needs to have succeeded before it.
NEEDS = {
    "ingest": "generate",
    "train": "ingest",
    "open": "train",
    "recommend": "train",
    "similar": "train",
    "query": "ingest",
}
RESULT_TAG = "SCALE-RESULT "
SUFFIX = {"k": 1_000, "m": 1_000_000}


def parse_size(text: str) -> int:
    """``100k`` -> 100,000; ``1M`` -> 1,000,000; ``5000`` -> 5,000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"bad size {text!r}; use e.g. 100k, 1M or 5000")
    return int(float(match.group(1)) * SUFFIX.get(match.group(2).lower(), 1))


def size_name(n: int) -> str:
    for suffix, unit in (("M", 1_000_000), ("k", 1_000)):
        if n >= unit and n % unit == 0:
            return f"{n // unit}{suffix}"
    return f"{n:,}"


def shape(n: int, users: int | None = None, items: int | None = None) -> dict[str, int]:
    """Users, items and tags for ``n`` interactions, shaped like MovieLens 25M (see the
    docstring) unless ``users`` / ``items`` are given."""
    users = users or max(1, round(n * ML25M_USERS / ML25M_INTERACTIONS))
    items = items or max(50, round(ML25M_ITEMS * math.sqrt(n / ML25M_INTERACTIONS)))
    tags = min(NUM_TAGS, max(10, items // 20))
    return {"interactions": n, "users": users, "items": items, "tags": tags}


# --- stages run in a child process -------------------------------------------------------------


def _percentiles(ms: list[float]) -> dict[str, float]:
    import numpy as np

    p50, p99 = np.percentile(np.array(ms), [50, 99])
    return {"p50_ms": round(float(p50), 2), "p99_ms": round(float(p99), 2), "calls": len(ms)}


def stage_generate(work: Path, size: dict[str, int], seed: int) -> dict[str, Any]:
    from kgrec.loaders.synthetic import generate_synthetic

    ds = generate_synthetic(
        size["users"],
        size["items"],
        size["tags"],
        size["interactions"],
        seed=seed,
        activity_sigma=ACTIVITY_SIGMA,
    )
    inter = ds.interactions[["user_id", "item_id", "rating", "ts"]]
    inter.to_csv(work / "interactions.csv", index=False)
    tags = ds.item_tags.groupby("item_id", sort=False)["tag"].agg("|".join)
    items = ds.items[["id", "title", "description"]].assign(tags=ds.items["id"].map(tags))
    items.to_csv(work / "items.csv", index=False)
    per_user = inter.groupby("user_id").size()
    per_item = inter.groupby("item_id").size()
    return {
        "interactions": len(inter),
        "users": int(per_user.size),
        "items": len(items),
        "top_item": str(per_item.idxmax()),
        "per_user_median": float(per_user.median()),
        "per_user_max": int(per_user.max()),
        "top_item_share": round(float(per_item.max() / len(inter)), 4),
    }


def stage_open(store: str, model_dir: Path) -> dict[str, Any]:
    from kgrec.app.recommender import Recommender

    start = time.perf_counter()
    rec = Recommender.open(store, model_dir)
    opened = time.perf_counter() - start
    try:
        user = rec.user_ids[0]
        start = time.perf_counter()
        rec.recommend(user, k=10, explain=True)
        first = time.perf_counter() - start
    finally:
        rec.close()
    return {"open_s": round(opened, 3), "first_recommend_ms": round(first * 1000, 1)}


def stage_serve(store: str, model_dir: Path, what: str, requests: int, seed: int) -> dict:
    import numpy as np

    from kgrec.app.recommender import Recommender

    with Recommender.open(store, model_dir) as rec:
        rng = np.random.default_rng(seed)
        if what == "recommend":
            ids = list(rng.choice(rec.user_ids, size=requests + 5, replace=True))

            def call(x: str) -> object:
                return rec.recommend(x, k=10, explain=True)
        else:
            ids = list(rng.choice(rec.item_ids, size=requests + 5, replace=True))

            def call(x: str) -> object:
                return rec.similar_items(x, k=10)

        for x in ids[:5]:  # warm-up: lazy imports, caches, connections
            call(x)
        ms = []
        for x in ids[5:]:
            start = time.perf_counter()
            call(x)
            ms.append((time.perf_counter() - start) * 1000)
    return _percentiles(ms)


def stage_query(store: str, item_id: str) -> dict[str, Any]:
    from kgrec.app.analyst import run_query
    from kgrec.app.store import opened
    from kgrec.core.settings import Settings

    with opened(Settings.resolve(store=store)) as graph:
        start = time.perf_counter()
        rows = run_query(graph, "also_liked", {"item_id": item_id, "k": 10})
        seconds = time.perf_counter() - start
    return {
        "query": "also_liked",
        "item_id": item_id,
        "rows": len(rows),
        "query_s": round(seconds, 3),
    }


def stage_wipe(store: str) -> dict[str, Any]:
    from kgrec.kg import open_store

    with open_store(store) as graph:
        graph.drop()
    return {}


def child(args: argparse.Namespace) -> int:
    work = Path(args.work)
    size = json.loads(args.shape)
    if args.stage == "generate":
        out = stage_generate(work, size, args.seed)
    elif args.stage == "open":
        out = stage_open(args.store, Path(args.model_dir))
    elif args.stage in ("recommend", "similar"):
        out = stage_serve(args.store, Path(args.model_dir), args.stage, args.requests, args.seed)
    elif args.stage == "query":
        out = stage_query(args.store, args.item)
    else:
        out = stage_wipe(args.store)
    print(RESULT_TAG + json.dumps(out), flush=True)
    return 0


# --- the parent: one fresh process a stage ------------------------------------------------------


class ServerWatch:
    """Samples the embedded FalkorDB server named by its pid file: the high-water RSS (MB)
    and the CPU seconds it spent since the stage began (its pid may change: it stops with
    its last client and starts with the next)."""

    def __init__(self, pid_file: Path | None) -> None:
        self.pid_file, self.hwm_mb = pid_file, 0.0
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.tick = os.sysconf("SC_CLK_TCK")
        self.sample(baseline=True)

    def sample(self, baseline: bool = False) -> None:
        if self.pid_file is None:
            return
        try:
            pid = int(self.pid_file.read_text().split()[0])  # "PID" or "PID START-TIME"
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.hwm_mb = max(self.hwm_mb, int(line.split()[1]) / 1024)
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
        self.first.setdefault(pid, cpu if baseline else 0.0)
        self.last[pid] = cpu

    @property
    def cpu_s(self) -> float:
        return sum(cpu - self.first[pid] for pid, cpu in self.last.items())


def _last_line(path: Path) -> str:
    """The last non-empty line of a log (progress bars end lines with CR)."""
    with open(path, "rb") as f:
        f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
        tail = f.read().decode("utf-8", "replace")
    lines = [x.strip() for x in re.split(r"[\r\n]+", tail) if x.strip()]
    return lines[-1][-300:] if lines else ""


def run_stage(
    cmd: list[str], logs: Path, env: dict[str, str], timeout_s: float, pid_file: Path | None
) -> dict[str, Any]:
    """Run ``cmd`` in its own process group; wall, peak RSS, server peak and its output."""
    out_path, err_path = logs.with_suffix(".out"), logs.with_suffix(".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, env=env, cwd=logs.parent, start_new_session=True
        )
        watch = ServerWatch(pid_file)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            watch.sample()
            if pid:
                break
            if time.perf_counter() - start > timeout_s and not timed_out:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
            time.sleep(0.2)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(errors="replace")
    result: dict[str, Any] = {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "store_rss_mb": round(watch.hwm_mb, 1) if pid_file is not None else None,
        "store_cpu_s": round(watch.cpu_s, 2) if pid_file is not None else None,
        "exit_code": proc.returncode,
    }
    if timed_out:
        result.update(status="timeout", last_output=_last_line(err_path) or _last_line(out_path))
    elif proc.returncode not in (0, 3):  # 3: kgrec train did not promote (still a full job)
        result.update(status="failed", last_output=_last_line(err_path) or _last_line(out_path))
    else:
        result["status"] = "ok"
        for line in text.splitlines():
            if line.startswith(RESULT_TAG):
                result.update(json.loads(line[len(RESULT_TAG) :]))
        if RESULT_TAG not in text:
            result["output"] = text.strip()[-600:]
    return result


def run_size(n: int, store_kind: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    size = shape(n, args.users, args.items)
    work = root / f"{store_kind}-{size_name(n)}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    embedded = store_kind == "embedded"
    store = str(work / "store") if embedded else os.environ["KGREC_SCALE_NEO4J_URI"]
    model_dir = work / "models"
    pid_file = work / "store" / "falkordb.pid" if embedded else None
    env = {k: v for k, v in os.environ.items() if k not in ("KGREC_KEEP_SERVER",)}
    env["KGREC_CACHE_DIR"] = str(work / "cache")  # empty: every text is embedded
    me = [sys.executable, str(Path(__file__).resolve())]
    base = [
        *me,
        "--stage-work",
        str(work),
        "--stage-shape",
        json.dumps(size),
        "--store-uri",
        store,
        "--model-dir",
        str(model_dir),
        "--seed",
        str(args.seed),
    ]
    kgrec = [
        sys.executable,
        "-m",
        "kgrec.cli.main",
        "--store",
        store,
        "--model-dir",
        str(model_dir),
    ]
    commands = {
        "generate": [*base, "--stage", "generate"],
        "ingest": [
            *kgrec,
            "ingest",
            "csv",
            str(work / "interactions.csv"),
            "--items",
            str(work / "items.csv"),
            "--rating-col",
            "rating",
            "--ts-col",
            "ts",
        ],
        "train": [*kgrec, "train"],
        "open": [*base, "--stage", "open"],
        "recommend": [*base, "--stage", "recommend", "--requests", str(args.requests)],
        "similar": [*base, "--stage", "similar", "--requests", str(args.requests)],
    }
    if not embedded:
        wiped = run_stage(
            [*base, "--stage", "wipe"], work / "wipe", env, args.timeout_per_stage, None
        )
        if wiped["status"] != "ok":
            raise SystemExit(f"could not wipe {store}: {wiped.get('last_output')}")
    stages: dict[str, dict[str, Any]] = {}
    for name in args.stages:
        need = NEEDS.get(name)
        if need is not None and stages[need]["status"] != "ok":
            stages[name] = {"status": "skipped", "reason": f"{need} {stages[need]['status']}"}
            continue
        cmd = commands.get(name) or [
            *base,
            "--stage",
            "query",
            "--item",
            stages["generate"]["top_item"],
        ]
        print(f"[{store_kind} {size_name(n)}] {name} ...", file=sys.stderr, flush=True)
        stages[name] = run_stage(cmd, work / name, env, args.timeout_per_stage, pid_file)
        print(
            f"[{store_kind} {size_name(n)}] {name}: {stages[name]['status']} "
            f"{stages[name]['wall_s']} s",
            file=sys.stderr,
            flush=True,
        )
    if embedded:  # a killed stage may leave the server running
        subprocess.run([*kgrec, "--quiet", "store", "stop"], env=env, capture_output=True)
    return {"store": store_kind, "size": size_name(n), **size, "stages": stages}


def add_growth(runs: list[dict[str, Any]]) -> None:
    """Per stage: wall seconds over the previous size's of the same store (both ok)."""
    last: dict[str, dict[str, Any]] = {}
    for run in runs:
        before = last.get(run["store"])
        for name, stage in run["stages"].items():
            stage["growth"] = stage["cpu_growth"] = None
            prev = before["stages"].get(name) if before else None
            if prev is None or prev["status"] != "ok" or stage["status"] != "ok":
                continue
            stage["growth"] = round(stage["wall_s"] / prev["wall_s"], 2)
            if _cpu(prev) > 0:
                stage["cpu_growth"] = round(_cpu(stage) / _cpu(prev), 2)
        run["data_growth"] = (
            round(run["interactions"] / before["interactions"], 2) if before else None
        )
        last[run["store"]] = run


def _cpu(stage: dict[str, Any]) -> float:
    """CPU seconds of the stage's processes and of the store server during it."""
    return float(stage.get("cpu_s", 0.0) + (stage.get("store_cpu_s") or 0.0))


def _detail(name: str, stage: dict[str, Any]) -> str:
    if stage["status"] != "ok":
        return stage.get("last_output") or stage.get("reason") or ""
    if name == "generate":
        return (
            f"median {stage['per_user_median']:g} / max {stage['per_user_max']:,} a user; "
            f"top item {stage['top_item_share']:.1%}"
        )
    if name in ("recommend", "similar"):
        return f"p50 {stage['p50_ms']:.1f} ms, p99 {stage['p99_ms']:.1f} ms"
    if name == "open":
        return f"open {stage['open_s']:.2f} s, first recommend {stage['first_recommend_ms']:.0f} ms"
    if name == "query":
        return f"also_liked {stage['query_s']:.2f} s"
    return ""


def table(runs: list[dict[str, Any]]) -> str:
    """The results as a markdown table (one row a store, size and stage)."""
    rows = [
        "| store | size | users | items | stage | status | wall s | CPU s | peak RSS MB "
        "| store MB | growth | CPU growth | detail |",
        "|---|---|---|---|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for run in runs:
        for name, s in run["stages"].items():
            ran = "wall_s" in s
            wall = f"{s['wall_s']:.2f}" if ran else "-"
            cpu = f"{_cpu(s):.2f}" if ran else "-"
            rss = f"{s['peak_rss_mb']:.0f}" if ran else "-"
            store = f"{s['store_rss_mb']:.0f}" if s.get("store_rss_mb") is not None else "-"
            growth = f"{s['growth']:.2f}x" if s.get("growth") is not None else "-"
            cpu_growth = f"{s['cpu_growth']:.2f}x" if s.get("cpu_growth") is not None else "-"
            detail = _detail(name, s).replace("|", "\\|")  # progress bars draw with |
            rows.append(
                f"| {run['store']} | {run['size']} | {run['users']:,} | {run['items']:,} "
                f"| {name} | {s['status']} | {wall} | {cpu} | {rss} | {store} | {growth} "
                f"| {cpu_growth} | {detail} |"
            )
        ok = [run["stages"][s] for s in ("ingest", "train") if s in run["stages"]]
        ok = [s for s in ok if s["status"] == "ok"]
        if len(ok) == 2:
            rows.append(
                f"| {run['store']} | {run['size']} | | | ingest + train | ok "
                f"| {sum(s['wall_s'] for s in ok):.2f} | {sum(map(_cpu, ok)):.2f} "
                f"| | | | | end to end |"
            )
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="100k",
        help="interactions, comma-separated: 100k,1M,5M,25M (or a number)",
    )
    parser.add_argument("--stores", default="embedded", help="embedded,neo4j")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    parser.add_argument(
        "--timeout-per-stage",
        type=float,
        default=1800.0,
        help="seconds; a stage past it is killed and reported as timeout",
    )
    parser.add_argument("--requests", type=int, default=200, help="calls to time per serving stage")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="stores and files (default: a temporary folder, removed after)",
    )
    parser.add_argument(
        "--stages", default=",".join(STAGES), help=f"some of {','.join(STAGES)} (default: all)"
    )
    parser.add_argument("--users", type=int, default=None, help="users at every size (no rule)")
    parser.add_argument("--items", type=int, default=None, help="items at every size (no rule)")
    parser.add_argument("--seed", type=int, default=0)
    # the child side: one stage in this process
    parser.add_argument("--stage", choices=[*STAGES, "wipe"], help=argparse.SUPPRESS)
    parser.add_argument("--stage-work", dest="work", help=argparse.SUPPRESS)
    parser.add_argument("--stage-shape", dest="shape", help=argparse.SUPPRESS)
    parser.add_argument("--store-uri", dest="store", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--item", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.stage:
        return child(args)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    chosen = [s.strip() for s in args.stages.split(",") if s.strip()]
    for name in chosen:
        if name not in STAGES:
            raise SystemExit(f"unknown stage {name!r}; use some of {','.join(STAGES)}")
        if NEEDS.get(name, name) not in chosen:
            raise SystemExit(f"stage {name} needs stage {NEEDS[name]}; add it to --stages")
    args.stages = [name for name in STAGES if name in chosen]
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    for kind in stores:
        if kind not in ("embedded", "neo4j"):
            raise SystemExit(f"unknown store {kind!r}; use embedded and/or neo4j")
    if "neo4j" in stores and not os.environ.get("KGREC_SCALE_NEO4J_URI"):
        raise SystemExit("--stores neo4j needs KGREC_SCALE_NEO4J_URI=bolt://host:port")
    root = args.workdir or Path(tempfile.mkdtemp(prefix="kgrec-scale-"))
    runs: list[dict[str, Any]] = []
    try:
        for kind in stores:
            for n in sizes:
                runs.append(run_size(n, kind, args, root))
                add_growth(runs)
                if args.out:  # after every size: a later timeout or kill keeps what was done
                    args.out.write_text(json.dumps(_report(runs, args), indent=1))
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    print(table(runs))
    return 0


def _report(runs: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    return {
        "commit": commit,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "timeout_per_stage_s": args.timeout_per_stage,
        "requests": args.requests,
        "runs": runs,
    }


if __name__ == "__main__":
    sys.exit(main())

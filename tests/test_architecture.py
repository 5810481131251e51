"""The structure the code promises: import layers, installed packages, formatting, types.

The layers, bottom to top (../shared/DESIGN.md, "Structure"): a module imports only from its
own layer or a lower one, kg and gnn never import each other, and the CLI calls the
application layer (and core) only. Function-level imports count too. What the CLI takes from
the application layer is a name the application exports: one it defines, or one it
re-exports on purpose (``from m import x as x`` or listed in ``__all__``), so the
application passes a lower layer's function on without wrapping it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]

#: Bottom to top; packages on one rank may not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("kgrec.core",),
    ("kgrec.loaders",),
    ("kgrec.kg", "kgrec.gnn"),
    ("kgrec.queries",),
    ("kgrec.explain",),
    ("kgrec.app",),
    ("kgrec.cli",),
]
#: What each layer may import besides its own package, where the rank rule is too loose.
ONLY: dict[str, tuple[str, ...]] = {"kgrec.cli": ("kgrec.core", "kgrec.app", "kgrec")}
#: Layers that may take from a package only the names it exports (:func:`_exports`).
EXPORTED_ONLY: dict[str, str] = {"kgrec.cli": "kgrec.app"}
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def _source_dir(package: str) -> Path:
    mapped = SETUPTOOLS["package-dir"]
    for prefix in sorted(mapped, key=len, reverse=True):
        if package == prefix or package.startswith(prefix + "."):
            rest = package[len(prefix) :].lstrip(".").replace(".", "/")
            return ROOT / mapped[prefix] / rest
    raise AssertionError(f"{package} has no package-dir entry")


def _modules() -> dict[str, Path]:
    """Every installed module (``kgrec.kg.store``...) and its file."""
    found: dict[str, Path] = {}
    for package in SETUPTOOLS["packages"]:
        for path in sorted(_source_dir(package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = path
    return found


def _layer(module: str) -> str | None:
    best = None
    for package in RANK:
        if (module == package or module.startswith(package + ".")) and (
            best is None or len(package) > len(best)
        ):
            best = package
    return best


def _imports(module: str, path: Path) -> list[tuple[int, str, tuple[str, ...]]]:
    """``(line, module, names)`` of each import of a ``kgrec`` module; ``names`` are those a
    ``from`` import takes (empty for ``import m``)."""
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = module.split(".")
                is_package = path.stem == "__init__"
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.append((node.lineno, name, tuple(alias.name for alias in node.names)))
    return [row for row in out if row[1] == "kgrec" or row[1].startswith("kgrec.")]


def _exports(module: str) -> set[str]:
    """The names ``module`` exports: its submodules and the top-level functions, classes and
    variables it defines, the names it re-exports (``import x as x``, ``from m import x as
    x``) and those its ``__all__`` lists. A name it merely imports is not among them."""
    path = _modules().get(module)
    if path is None:
        return set()
    names = {p.stem for p in path.parent.glob("*.py")} if path.stem == "__init__" else set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {a.name for a in node.names if a.asname == a.name}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
                    if target.id == "__all__" and isinstance(node.value, ast.List | ast.Tuple):
                        names |= {
                            e.value
                            for e in node.value.elts
                            if isinstance(e, ast.Constant) and isinstance(e.value, str)
                        }
    return names


def layer_violations(modules: dict[str, Path] | None = None, root: Path = ROOT) -> list[str]:
    """``file:line: a -> b`` (``file`` relative to ``root``) for every import of ``modules``
    (default: every installed module) that breaks the layer rules. The root package
    ``kgrec`` loads the application layer, so only the CLI may import it. A CLI import of a
    name the application does not export reads ``a -> module.name (not exported)``."""
    bad = []
    for module, path in (_modules() if modules is None else modules).items():
        own = _layer(module)
        if own is None:
            continue
        for line, target, names in _imports(module, path):
            other = _layer(target)
            if other == own:
                continue
            only = ONLY.get(own)
            if only is not None:
                allowed = target in only or other in only
            else:
                allowed = other is not None and RANK[other] < RANK[own]
            where = f"{path.relative_to(root)}:{line}: {own} ->"
            if not allowed:
                bad.append(f"{where} {target}")
            elif other is not None and EXPORTED_ONLY.get(own) == other:
                exported = _exports(target)
                bad += [f"{where} {target}.{n} (not exported)" for n in names if n not in exported]
    return bad


def test_every_import_respects_the_layers() -> None:
    assert layer_violations() == []


def test_the_layer_check_reports_upward_and_sideways_imports(tmp_path: Path) -> None:
    """The checker itself can fail: imports that break each rule are all reported."""
    (tmp_path / "pkg").mkdir()
    fake = tmp_path / "pkg" / "fake.py"
    fake.write_text(
        "from kgrec.core.errors import KgrecError\n"  # allowed: the layer below
        "def f():\n"
        "    from kgrec.app.recommender import Recommender\n"  # upward, function-level
    )
    gnn = tmp_path / "pkg" / "gnn_fake.py"
    gnn.write_text("import kgrec.kg.store\n")  # sideways: kg and gnn share a rank
    cli = tmp_path / "pkg" / "cli_fake.py"
    cli.write_text(
        "from kgrec.app.store import opened\n"  # allowed: the application defines it
        "from kgrec.kg import open_store\n"  # below the application
        "from kgrec.app.analyst import run_query\n"  # allowed: re-exported on purpose
        "from kgrec.app import TrainConfig, analyst\n"  # allowed: re-export, submodule
        "from kgrec.app.analyst import GraphStore\n"  # imported there, not exported
    )
    found = layer_violations(
        {"kgrec.loaders.fake": fake, "kgrec.gnn.fake": gnn, "kgrec.cli.fake": cli}, tmp_path
    )
    assert found == [
        "pkg/fake.py:3: kgrec.loaders -> kgrec.app.recommender",
        "pkg/gnn_fake.py:1: kgrec.gnn -> kgrec.kg.store",
        "pkg/cli_fake.py:2: kgrec.cli -> kgrec.kg",
        "pkg/cli_fake.py:5: kgrec.cli -> kgrec.app.analyst.GraphStore (not exported)",
    ]


def test_installed_packages_are_the_folders_with_an_init() -> None:
    listed = set(SETUPTOOLS["packages"])
    on_disk = set()
    for prefix, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            on_disk.add(".".join([prefix, *rel.parts]))
    assert listed == on_disk


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extras (pip install -e .[test])")
    return [found]


def test_code_is_formatted_and_lint_clean() -> None:
    fmt = subprocess.run(
        [*_tool("ruff"), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = subprocess.run([*_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_layers_below_the_cli_type_check(tmp_path: Path) -> None:
    """mypy over every package below the CLI. The source folders are installed under other
    names (``kg/`` is ``kgrec.kg``), so mypy reads them through a tree of links that has the
    installed layout."""
    tree = tmp_path / "kgrec"
    tree.mkdir()
    for prefix, folder in SETUPTOOLS["package-dir"].items():
        if prefix != "kgrec":
            (tree / prefix.split(".", 1)[1]).symlink_to(ROOT / folder)
    for entry in (ROOT / "kgrec").iterdir():
        if not (tree / entry.name).exists():
            (tree / entry.name).symlink_to(entry)
    below_cli = [p for packages in LAYERS[:-1] for p in packages]
    args = [arg for p in below_cli for arg in ("-p", p)]
    result = subprocess.run(
        [*_tool("mypy"), "--config-file", str(ROOT / "pyproject.toml"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPYPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]

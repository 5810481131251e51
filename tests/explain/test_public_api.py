"""The public API is exactly what ``kgrec`` exports, and importing it stays light."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import kgrec
from kgrec.core import errors


@pytest.mark.parametrize("name", kgrec.__all__)
def test_every_exported_name_imports_from_kgrec(name):
    namespace: dict[str, object] = {}
    exec(f"from kgrec import {name}", namespace)
    assert namespace[name] is getattr(kgrec, name)
    assert getattr(namespace[name], "__name__", name) == name


def test_every_public_error_is_exported():
    public = {
        name
        for name, value in inspect.getmembers(errors, inspect.isclass)
        if issubclass(value, errors.KgrecError) and not name.startswith("_")
    }
    assert public <= set(kgrec.__all__)
    assert {"Recommender", "Recommendation", "Recommendations", "Explanation"} <= set(kgrec.__all__)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Recomender'"):
        kgrec.Recomender  # noqa: B018


def test_import_kgrec_does_not_import_torch():
    code = (
        "import sys, kgrec\n"
        "from kgrec import UnknownIdError, Recommendation, Explanation\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

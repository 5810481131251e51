"""The HTML drawing of an explanation, opened in a real headless Chromium.

Chromium is optional on a developer machine (the test is skipped without it) and required
in CI (``KGREC_REQUIRE_BROWSER=1``, set by ``.ci/run``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from kgrec.explain.html import COLOURS, render_explanation_html
from kgrec.explain.types import Explanation, ExplanationPath, Node


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("KGREC_REQUIRE_BROWSER"):
        pytest.fail("KGREC_REQUIRE_BROWSER is set but no Chromium is installed")
    pytest.skip("no Chromium on this machine (apt-get install chromium)")


def sample() -> Explanation:
    user = Node("user", "u1", "user u1")
    alien = Node("item", "i1", 'Alien <"1979">')
    horror = Node("tag", "horror", "horror")
    other = Node("user", "u2", "user u2")
    rec = Node("item", "i4", "Aliens & Co")
    scott = Node("entity", "e1", "Ridley Scott")
    paths = [
        ExplanationPath(
            "shared_tag",
            [user, alien, horror, rec],
            ["INTERACTED", "HAS_TAG", "HAS_TAG"],
            0.5,
            0.5,
            "You rated Alien (5.0); it shares the tag 'horror' with Aliens.",
        ),
        ExplanationPath(
            "co_users",
            [user, alien, other, rec],
            ["INTERACTED", "INTERACTED", "INTERACTED"],
            0.3,
            0.3,
            "Users who rated Alien also rated Aliens.",
        ),
        ExplanationPath(
            "entity",
            [user, alien, scott, rec],
            ["INTERACTED", "RELATED", "RELATED"],
            0.1,
            0.1,
            "Alien and Aliens are related to Ridley Scott.",
        ),
    ]
    return Explanation("u1", "i4", "Aliens & Co", 1.0, paths, 0.9, 3, "3 paths")


def circles(html: str) -> list[tuple[float, float, str]]:
    found = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="\d+" fill="(#[0-9a-f]{6})"', html)
    return [(float(x), float(y), colour) for x, y, colour in found]


def test_page_holds_every_node_and_edge_escaped():
    ex = sample()
    html = render_explanation_html(ex)
    graph = ex.to_networkx()
    assert len(circles(html)) == graph.number_of_nodes() == 6
    assert html.count('<line class="edge"') == graph.number_of_edges()
    assert "Alien &lt;&quot;1979&quot;&gt;" in html and 'Alien <"1979">' not in html
    assert "Aliens &amp; Co" in html
    assert html.count("<li>") == len(ex.paths)
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_an_explanation_without_paths_still_draws_user_and_item():
    ex = Explanation("u9", "i9", "Lonely", 0.2, [], 0.0, 0, "No path of up to 3 hops.")
    html = render_explanation_html(ex)
    assert len(circles(html)) == 2
    assert "No path of up to 3 hops." in html


def test_chromium_renders_the_nodes(tmp_path):
    from PIL import Image

    browser = chromium()
    html = render_explanation_html(sample())
    page = tmp_path / "explanation.html"
    page.write_text(html, encoding="utf-8")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert dom.count("<circle") == 6
    for label in ("user u1", "horror", "Ridley Scott", "Aliens &amp; Co"):
        assert label in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--window-size=1100,900",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    image = Image.open(shot).convert("RGB")
    svg_left, svg_top = _svg_origin(browser, page)
    for x, y, colour in circles(html):
        pixel = image.getpixel((round(svg_left + x), round(svg_top + y)))
        expected = tuple(int(colour[k : k + 2], 16) for k in (1, 3, 5))
        assert max(abs(a - b) for a, b in zip(pixel, expected, strict=True)) <= 8, (x, y)
    assert set(COLOURS.values()) >= {c for *_, c in circles(html)}


def _svg_origin(browser: str, page) -> tuple[float, float]:
    """Where the SVG's top-left corner lands, read from the laid-out page itself."""
    probe = page.with_name("probe.html")
    script = (
        "<script>window.onload=()=>{const r=document.querySelector('svg')"
        ".getBoundingClientRect();document.body.setAttribute('data-origin',"
        "(r.left+1)+','+(r.top+1));}</script>"
    )
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", script + "</body>"), encoding="utf-8"
    )
    dom = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1100,900",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    left, top = re.search(r'data-origin="([\d.]+),([\d.]+)"', dom).groups()
    return float(left), float(top)

"""write_report: the HTML explorer of a trace.

Static tests (always run) check the folder it writes: one self-contained index.html whose embedded
JSON is the data (NaN -> null, 4 significant digits), no reference to the network, the plots copied,
schema errors that name the key, and overwriting. Browser tests drive the page in headless Chromium
through Playwright (skipped where either is missing): no script error, no request beyond file:,
and the interactions (unit list, heatmap rows, sequence / layer / quantity switches, pattern
search, screenshot) do what they say.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import re
import shutil
import struct
import sys
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import torch

import lstmkit
from lstmkit.explain import trace
from lstmkit.explain.report import CHROMIUM_ARGS, screenshot, write_report

SEQUENCES = 3


def _report_data() -> dict[str, Any]:
    """The report dict of a real trace: a 2-layer LSTM on a batch of 3 padded sequences."""
    torch.manual_seed(0)
    model = lstmkit.LSTM(2, 4, num_layers=2, batch_first=True).eval()
    x = torch.randn(SEQUENCES, 9, 2)
    lengths = torch.tensor([9, 6, 4])
    tr = trace(model, x, lengths)
    sequences = []
    for s, n in enumerate(lengths.tolist()):
        attribution = np.linspace(-1, 1, n)
        attribution[1] = np.nan                                  # must come out as null
        sequences.append({"name": f"seq {s}", "length": n, "inputs": tr.inputs[s, :n].tolist(),
                          "input_names": ["a", "b"], "tokens": None, "target": float(s), "prediction": 0.5 + s,
                          "attribution": attribution, "attention": np.full(n, 1 / n) if s == 0 else None})
    layers = []
    for lt in tr.layers:
        forget_mean = np.nanmean(lt.values["forget"], axis=(0, 1))
        half_life = -np.log(2) / np.log(forget_mean)
        half_life[0] = np.inf                                    # "infinite memory" -> null
        layers.append({"name": lt.name, "units": lt.units, "quantities": list(lt.values),
                       "values": {q: [v[s, :n].tolist() for s, n in enumerate(lt.lengths)]
                                  for q, v in lt.values.items()},
                       "unit_stats": {"half_life": half_life, "forget_mean": forget_mean}})
    return {"title": "Test report </script><b>not bold</b>",
            "summary": {"model": repr(model), "parameters": sum(p.numel() for p in model.parameters()),
                        "cell": tr.layers[0].cell, "test error": np.float64(0.0123456)},
            "sequences": sequences, "layers": layers,
            "highlights": [{"layer": 0, "unit": 1, "why": "the first look"},
                           {"layer": 1, "unit": 3, "why": "layer two"}]}


def _png(path: Path, width: int = 4, height: int = 3) -> Path:
    """A small valid PNG (grey pixels), written without any imaging library."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def _embedded(index: Path) -> dict[str, Any]:
    text = index.read_text(encoding="utf-8")
    found = re.findall(r'<script type="application/json" id="report-data">(.*?)</script>', text, flags=re.S)
    assert len(found) == 1
    return json.loads(found[0])


def _same(got: Any, want: Any, where: str = "data") -> None:
    """``got`` (parsed back from the page) is ``want`` up to 4 significant digits, NaN/inf as None."""
    if hasattr(want, "tolist"):
        want = want.tolist()
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) >= set(want), where
        for k in want:
            _same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and not math.isfinite(want):
        assert got is None, where
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=6e-4, abs=1e-300), where
    else:
        assert got == want, where


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return _report_data()


@pytest.fixture(scope="module")
def report(data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    plot = _png(folder.parent / "forget.png")
    svg = folder.parent / "curve.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="9" height="9"/></svg>')
    return write_report(data, folder / "out", images={"Forget gates": plot, "A curve": svg})


# ----------------------------------------------------------------------------------------------
# Static

def test_index_embeds_the_data(report: Path, data: dict[str, Any]) -> None:
    assert report.name == "index.html" and report.is_file()
    got = _embedded(report)
    _same(got, data)
    assert got["sequences"][0]["attribution"][1] is None                 # NaN
    assert got["layers"][0]["unit_stats"]["half_life"][0] is None          # inf
    assert got["summary"]["test error"] == 0.01235                       # 4 significant digits
    assert got["sequences"][1]["attention"] is None and got["sequences"][1]["tokens"] is None
    text = report.read_text(encoding="utf-8")
    assert "<\\/script><b>" in text and "&lt;/script&gt;" in text          # escaped in the JSON and in the HTML
    assert text.count("</script>") == 2                                   # the data block and the script


def test_index_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, flags=re.I)
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"\bfetch\(|XMLHttpRequest|import\(", text)
    assert "<style>" in text and "#heatmap" in text                       # CSS and JS inlined
    assert 'id="heatmap"' in text and 'id="detail-unit"' in text and 'id="pattern-results"' in text


def test_images_are_copied_and_shown(report: Path) -> None:
    folder = report.parent
    assert (folder / "forget.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "curve.svg").is_file()
    text = report.read_text(encoding="utf-8")
    assert '<img src="forget.png" alt="Forget gates"' in text and "<figcaption>A curve</figcaption>" in text
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*"))  # atomic writes leave nothing behind


def test_overwriting_a_report(data: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "nested" / "report"
    first = write_report(data, out, images={"p": _png(tmp_path / "p.png")})
    (out / "notes.txt").write_text("mine")
    second = copy.deepcopy(data)
    second["title"] = "Second run"
    index = write_report(second, out, images={"p": _png(tmp_path / "p.png", width=7)})
    assert index == first and _embedded(index)["title"] == "Second run"
    assert (out / "notes.txt").read_text() == "mine"                      # nothing else is touched
    assert struct.unpack(">I", (out / "p.png").read_bytes()[16:20])[0] == 7
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "notes.txt", "p.png"]


def test_numpy_values_are_accepted(data: dict[str, Any], tmp_path: Path) -> None:
    d = copy.deepcopy(data)
    layer = d["layers"][0]
    layer["values"] = {q: [np.asarray(v, dtype=np.float32) for v in vs] for q, vs in layer["values"].items()}
    layer["units"] = np.int64(layer["units"])
    d["sequences"][0]["inputs"] = np.asarray(d["sequences"][0]["inputs"])
    got = _embedded(write_report(d, tmp_path))
    _same(got["layers"][0]["values"], data["layers"][0]["values"])
    assert isinstance(got["layers"][0]["units"], int)


def _bad(data: dict[str, Any], change: Any) -> dict[str, Any]:
    d = copy.deepcopy(data)
    change(d)
    return d


BAD = [
    pytest.param(lambda d: d["layers"][0]["values"]["cell"].pop(),
                 r"data\['layers'\]\[0\]\['values'\]\['cell'\] must have one list per sequence \(3\), got 2",
                 id="sequences"),
    pytest.param(lambda d: d["layers"][1]["values"]["hidden"][1].pop(),
                 r"data\['layers'\]\[1\]\['values'\]\['hidden'\]\[1\] must have one list per step of sequence 1 "
                 r"\(length 6\), got 5", id="steps"),
    pytest.param(lambda d: d["layers"][0]["values"]["input"][0][2].pop(),
                 r"data\['layers'\]\[0\]\['values'\]\['input'\]\[0\]\[2\] must have one value per unit \(4\), got 3",
                 id="units"),
    pytest.param(lambda d: d["layers"][0].update(quantities=["cell", "input"]),
                 r"data\['layers'\]\[0\]\['quantities'\] must be a non-empty subset of input, forget", id="order"),
    pytest.param(lambda d: d["sequences"][2]["inputs"].pop(),
                 r"data\['sequences'\]\[2\]\['inputs'\] must have one list of features per step \(length 4\)",
                 id="inputs"),
    pytest.param(lambda d: d["sequences"][0].update(attribution=[0.0, 1.0, "big"] + [0.0] * 6),
                 r"data\['sequences'\]\[0\]\['attribution'\]\[2\] must be a number or None, got str", id="number"),
    pytest.param(lambda d: d["highlights"][1].update(unit=4),
                 r"data\['highlights'\]\[1\]\['unit'\] must be in \[0, 3\], got 4", id="highlight"),
    pytest.param(lambda d: d.pop("title"), r"data has no 'title'", id="missing"),
    pytest.param(lambda d: d["sequences"][0].update(attributions=None),
                 r"data\['sequences'\]\[0\] has an unknown key 'attributions'", id="unknown-key"),
    pytest.param(lambda d: d["layers"][0]["unit_stats"].update(half_life=[1.0]),
                 r"data\['layers'\]\[0\]\['unit_stats'\]\['half_life'\] must have one value per unit \(4\), got 1",
                 id="stats"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_data_names_the_key(data: dict[str, Any], tmp_path: Path, change: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_report(_bad(data, change), tmp_path / "out")
    assert not (tmp_path / "out").exists()                                # checked before anything is written


def test_bad_images(data: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"images\['gone'\] must be an existing file"):
        write_report(data, tmp_path, images={"gone": tmp_path / "gone.png"})
    (tmp_path / "plot.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match=r"images\['jpeg'\] must be a .png or .svg file"):
        write_report(data, tmp_path, images={"jpeg": tmp_path / "plot.jpg"})


def test_screenshot_without_playwright_says_so(report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)         # import fails as if not installed
    with pytest.raises(RuntimeError, match="needs the 'playwright' Python package"):
        screenshot(report, tmp_path / "x.png")
    with pytest.raises(ValueError, match="png must be a path ending in .png"):
        screenshot(report, tmp_path / "x.jpg")


# ----------------------------------------------------------------------------------------------
# In the browser

def _chromium() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)


def _have_playwright() -> bool:
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        return False
    return True


needs_browser = pytest.mark.skipif(
    _chromium() is None or not _have_playwright(),
    reason="browser tests need Chromium (chromium on PATH or /usr/bin/chromium) and the playwright Python package")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=list(CHROMIUM_ARGS))
        yield b
        b.close()


class Opened:
    """A report page with what it logged: script errors and any request beyond file:."""

    def __init__(self, browser: Any, index: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 800})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else self.requests.append(r.url))
        self.page.route("**/*", self._route)
        self.page.goto(index.as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=10000)

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def png(self, selector: str) -> str:
        return self.page.evaluate(f"document.querySelector({selector!r}).toDataURL()")

    def text(self, selector: str) -> str:
        return self.page.inner_text(selector)

    def clean(self) -> None:
        assert self.errors == [] and self.requests == []


@pytest.fixture
def page(browser: Any, report: Path) -> Iterator[Opened]:
    opened = Opened(browser, report)
    yield opened
    opened.page.close()


@needs_browser
def test_page_opens_offline_without_errors(page: Opened, data: dict[str, Any]) -> None:
    p = page.page
    assert p.title().startswith("Test report") and "<b>" not in p.inner_html("#title")
    assert p.locator("#sequence option").count() == SEQUENCES
    assert p.locator("#layer option").count() == 2
    assert p.input_value("#quantity") == "cell"
    assert p.locator("#quantity option").count() == 6
    assert p.locator("#units li[data-unit]").count() == 4
    assert p.locator("#highlights li").count() == 2
    assert page.text("#detail-unit") == "1"                               # the first highlight is selected
    assert p.locator("#summary tr").count() == 4 and "LSTM(" in page.text("#summary")
    assert p.locator(".plots img").count() == 2
    assert p.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    page.clean()


@needs_browser
def test_unit_list_and_sequence_update_the_detail(page: Opened, data: dict[str, Any]) -> None:
    p = page.page
    before = page.png("#detail-chart")
    p.click('#units li[data-unit="2"]')
    assert page.text("#detail-unit") == "2"
    assert "selected" in (p.get_attribute('#units li[data-unit="2"]', "class") or "")
    after = page.png("#detail-chart")
    assert after != before
    p.select_option("#sequence", "1")
    assert page.png("#detail-chart") != after
    assert "seq 1" in page.text("#detail-where") and page.text("#detail-unit") == "2"
    assert p.evaluate("+document.getElementById('heatmap').dataset.steps") == data["sequences"][1]["length"]
    page.clean()


@needs_browser
def test_heatmap_rows_select_units_and_hover_reads_values(page: Opened, data: dict[str, Any]) -> None:
    p = page.page
    geometry = p.evaluate("Object.assign({}, document.getElementById('heatmap').dataset)")
    row, col, gutter = float(geometry["rowHeight"]), float(geometry["colWidth"]), float(geometry["gutter"])
    heat = p.locator("#heatmap")
    heat.click(position={"x": gutter + col * 4.5, "y": row * 3.5})
    assert page.text("#detail-unit") == "3"
    heat.hover(position={"x": gutter + col * 2.5, "y": row * 0.5})
    hover = page.text("#hover")
    shown = re.search(r"cell state (\S+)", hover)
    assert "step 2" in hover and "unit 0" in hover and shown
    want = data["layers"][0]["values"]["cell"][0][2][0]
    assert float(shown.group(1).replace("\u2212", "-")) == pytest.approx(want, rel=6e-3)
    assert "a = " in hover                                               # the input at that step
    page.clean()


@needs_browser
def test_layer_quantity_and_highlights(page: Opened) -> None:
    p = page.page
    heat = page.png("#heatmap")
    p.select_option("#quantity", "forget")
    assert page.png("#heatmap") != heat and page.text("#legend-label") == "forget gate"
    p.click('#highlights li[data-layer="1"]')
    assert p.input_value("#layer") == "1" and page.text("#detail-unit") == "3"
    assert "layer 1" in page.text("#detail-where")
    assert p.input_value("#quantity") == "forget"                        # kept across layers that have it
    page.clean()


def _pattern(values: list[list[float | None]], a: int, b: int, thr: float) -> list[int]:
    """The pattern search's ranking, in Python: the page must give the same."""
    units = len(values[0])
    scores = []
    for u in range(units):
        v = [row[u] for row in values]
        m = max(abs(x) for x in v if x is not None) or 1.0
        on = [(t, (x / m) >= thr) for t, x in enumerate(v) if x is not None]
        inside = [o for t, o in on if a <= t <= b]
        outside = [o for t, o in on if not a <= t <= b]
        score = (sum(inside) / len(inside) if inside else 0) - (sum(outside) / len(outside) if outside else 0)
        if score > 0:
            scores.append((-score, u))
    return [u for _, u in sorted(scores)][:10]


def _results(p: Any) -> list[int]:
    units = p.eval_on_selector_all("#pattern-results li[data-unit]", "els => els.map(e => e.dataset.unit)")
    return [int(u) for u in units]


@needs_browser
def test_pattern_search(page: Opened, report: Path) -> None:
    p = page.page
    values = _embedded(report)["layers"][0]["values"]["cell"][0]
    best = max(((a, b) for a in range(9) for b in range(a, 9)), key=lambda r: len(_pattern(values, *r, 0.5)))
    want = _pattern(values, *best, 0.5)
    assert want, "the test's trace has no unit matching any range"
    p.fill("#pattern-from", str(best[0]))
    p.fill("#pattern-to", str(best[1]))
    p.click("#pattern-find")
    got = _results(p)
    assert got == want
    p.click(f'#pattern-results li[data-unit="{got[-1]}"]')
    assert page.text("#detail-unit") == str(got[-1])
    # shift+drag across steps 2..5 sets the range (and searches again)
    geometry = p.evaluate("Object.assign({}, document.getElementById('heatmap').dataset)")
    col, gutter = float(geometry["colWidth"]), float(geometry["gutter"])
    box = p.locator("#heatmap").bounding_box()
    assert box is not None
    p.keyboard.down("Shift")
    p.mouse.move(box["x"] + gutter + col * 2.5, box["y"] + 5)
    p.mouse.down()
    p.mouse.move(box["x"] + gutter + col * 5.5, box["y"] + 5, steps=4)
    p.mouse.up()
    p.keyboard.up("Shift")
    assert (p.input_value("#pattern-from"), p.input_value("#pattern-to")) == ("2", "5")
    got = _results(p)
    assert got == _pattern(values, 2, 5, 0.5)
    page.clean()


@needs_browser
def test_text_report_shows_tokens(browser: Any, data: dict[str, Any], tmp_path: Path) -> None:
    d = copy.deepcopy(data)
    for s in d["sequences"]:
        s.update(inputs=[], input_names=[], tokens=[f"w{t}" for t in range(s["length"])], attribution=None,
                 attention=None)
    opened = Opened(browser, write_report(d, tmp_path))
    p = opened.page
    assert p.evaluate("getComputedStyle(document.getElementById('bars')).display") == "none"
    gutter = float(p.evaluate("document.getElementById('heatmap').dataset.gutter"))
    p.locator("#heatmap").hover(position={"x": gutter + 1, "y": 2})
    assert "token “w0”" in opened.text("#hover")
    opened.clean()
    p.close()


@needs_browser
def test_screenshot(report: Path, tmp_path: Path) -> None:
    png = screenshot(report, tmp_path / "shots" / "report.png", width=1280, height=800, unit=2)
    head = png.read_bytes()[:24]
    assert head.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", head[16:24])[0] == 1280
    assert struct.unpack(">II", head[16:24])[1] > 800                     # the full page, not the window
    with pytest.raises(ValueError, match="unit must be a unit"):
        screenshot(report, tmp_path / "x.png", unit=99)

"""``write_report(data, out_dir)``: a browsable, self-contained HTML explorer of a trace, in the spirit
of LSTMVis (Strobelt et al., 2018): a heatmap of every unit's gates or states over time, the input
above it on the same time axis, a unit list with each unit's statistics, a detail chart of one unit,
and LSTMVis's pattern search ("which units are on in these steps and off elsewhere?").

Why one folder with one ``index.html``: the report must open by double-click, offline, from
``file://``, where a page can fetch nothing (no CDN, no XHR, not even its own JSON next to it). So
the CSS and the script (``assets/``, plain CSS and vanilla JS, no library) are inlined, the data is
embedded as JSON in ``<script type="application/json" id="report-data">`` and the page's
Content-Security-Policy forbids every network request. Only the plots (PNG/SVG) stay files,
copied next to ``index.html``.

``data`` is a plain dict (``lstmkit.explain`` builds it from a ``Trace``); its schema is checked
here, key by key, because a mistake in it would otherwise show up as a blank page and a message in
the browser's console. The schema, with the optional keys and their default in brackets::

    title: str
    summary: {str: str | int | float}                                        [{}]
    sequences: [{name: str, length: int (real steps), inputs: [[float] * I] * length (or []),
                 input_names: [str] * I ["x0", ...], tokens: [str] * length | None [None],
                 target, prediction: str | float | None [None],
                 attribution, attention: [float] * length | None [None]}]
    layers: [{name: str, units: int, quantities: [str] (a subset of QUANTITIES, in that order),
              values: {quantity: [[[float] * units] * length of sequence s for each sequence s]},
              unit_stats: {str: [float | None] * units} [{}]}]
    highlights: [{layer: int (index into layers), unit: int, why: str}]      [[]]

numpy arrays, numpy scalars (and anything with ``tolist``) are accepted wherever a list or number
is; floats are rounded to 4 significant digits (the page shows 3) to keep the file small, and NaN
and infinities become JSON ``null`` (the page draws them as missing).

``screenshot(index_html, png)`` renders a report in headless Chromium (through Playwright) to a
PNG, for the README and for checking the page without opening a browser.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import json
import math
import numbers
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from .trace import QUANTITIES

__all__ = ["CHROMIUM_ARGS", "screenshot", "write_report"]

#: Flags for the headless Chromium that ``screenshot`` (and the tests) drive: no sandbox (it runs
#: in containers), no GPU, and none of the browser's own background traffic.
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")

_IMAGE_SUFFIXES = (".png", ".svg")
_SEQUENCE_KEYS = ("name", "length", "inputs", "input_names", "tokens", "target", "prediction", "attribution",
                  "attention")
_LAYER_KEYS = ("name", "units", "quantities", "values", "unit_stats")
_TOP_KEYS = ("title", "summary", "sequences", "layers", "highlights")


# ----------------------------------------------------------------------------------------------
# Validation and conversion: one pass that checks the schema and returns plain, JSON-ready Python.

def _plain(x: Any) -> Any:
    """numpy arrays / scalars (and torch tensors) -> lists / Python scalars; tuples -> lists."""
    if isinstance(x, (str, bytes)):
        return x
    if hasattr(x, "tolist") and callable(x.tolist):
        return x.tolist()
    if isinstance(x, tuple):
        return list(x)
    return x


def _describe(x: Any) -> str:
    text = repr(x)
    return f"{type(x).__name__} ({text if len(text) <= 40 else text[:37] + '...'})"


def _round(x: float) -> float | None:
    if not math.isfinite(x):
        return None
    return float(f"{x:.4g}")


def _number(where: str, x: Any, *, none: bool = True) -> float | None:
    """A finite float rounded to 4 significant digits, None for NaN/inf (and None, where allowed)."""
    x = _plain(x)
    if x is None and none:
        return None
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValueError(f"{where} must be a number{' or None' if none else ''}, got {_describe(x)}")
    return _round(float(x))


def _str(where: str, x: Any) -> str:
    if not isinstance(x, str):
        raise ValueError(f"{where} must be a str, got {_describe(x)}")
    return x


def _int(where: str, x: Any, *, minimum: int, maximum: int | None = None) -> int:
    x = _plain(x)
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise ValueError(f"{where} must be an int, got {_describe(x)}")
    if x < minimum or maximum is not None and x > maximum:
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{where} must be {bound}, got {x}")
    return int(x)


def _list(where: str, x: Any, *, length: int | None = None, what: str = "", count: str = "") -> list:
    """``x`` as a list, of ``length`` entries if given (``what`` says what they are, ``count`` how
    many, "(length)" by default)."""
    x = _plain(x)
    if not isinstance(x, list):
        raise ValueError(f"{where} must be a list{' of ' + what if what else ''}, got {_describe(x)}")
    if length is not None and len(x) != length:
        raise ValueError(f"{where} must have {what or 'entries'} {count or f'({length})'}, got {len(x)}")
    return x


def _dict(where: str, x: Any, allowed: tuple[str, ...] | None = None, required: tuple[str, ...] = ()) -> dict:
    if not isinstance(x, dict):
        raise ValueError(f"{where} must be a dict, got {_describe(x)}")
    for key in required:
        if key not in x:
            raise ValueError(f"{where} has no {key!r}; it must have: {', '.join(required)}")
    if allowed is not None:
        for key in x:
            if key not in allowed:
                raise ValueError(f"{where} has an unknown key {key!r}; the keys are: {', '.join(allowed)}")
    return x


def _numbers(where: str, x: Any, length: int, what: str) -> list[float | None]:
    values = _list(where, x, length=length, what=what)
    if all(type(v) is float for v in values):                  # the common case, fast
        return [_round(v) for v in values]
    return [_number(f"{where}[{i}]", v) for i, v in enumerate(values)]


def _scalar_or_text(where: str, x: Any) -> str | int | float | None:
    x = _plain(x)
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return _round(float(x))
    raise ValueError(f"{where} must be a str, int or float, got {_describe(x)}")


def _sequence(where: str, s: Any) -> dict[str, Any]:
    s = _dict(where, s, _SEQUENCE_KEYS, ("name", "length", "inputs"))
    length = _int(f"{where}['length']", s["length"], minimum=1)
    inputs = _list(f"{where}['inputs']", s["inputs"], what="one list of features per step")
    if inputs and len(inputs) != length:
        raise ValueError(f"{where}['inputs'] must have one list of features per step (length {length}) "
                         f"or be [] (no input chart), got {len(inputs)}")
    features = len(_list(f"{where}['inputs'][0]", inputs[0], what="features")) if inputs else 0
    inputs = [_numbers(f"{where}['inputs'][{t}]", row, features, "one value per feature, as at step 0")
              for t, row in enumerate(inputs)]
    names = s.get("input_names")
    if names is None:
        names = [f"x{i}" for i in range(features)]
    names = [_str(f"{where}['input_names'][{i}]", n) for i, n in
             enumerate(_list(f"{where}['input_names']", names, length=features, what="one name per input feature"))]
    tokens = s.get("tokens")
    if tokens is not None:
        tokens = [_str(f"{where}['tokens'][{t}]", w) for t, w in
                  enumerate(_list(f"{where}['tokens']", tokens, length=length, what="one token per step"))]
    out: dict[str, Any] = {"name": _str(f"{where}['name']", s["name"]), "length": length, "inputs": inputs,
                           "input_names": names, "tokens": tokens}
    for key in ("target", "prediction"):
        out[key] = _scalar_or_text(f"{where}[{key!r}]", s.get(key))
    for key in ("attribution", "attention"):
        v = s.get(key)
        out[key] = None if v is None else _numbers(f"{where}[{key!r}]", v, length, "one value per step")
    return out


def _layer(where: str, layer: Any, lengths: list[int]) -> dict[str, Any]:
    layer = _dict(where, layer, _LAYER_KEYS, ("name", "units", "quantities", "values"))
    units = _int(f"{where}['units']", layer["units"], minimum=1)
    quantities = [_str(f"{where}['quantities'][{i}]", q) for i, q in
                  enumerate(_list(f"{where}['quantities']", layer["quantities"], what="quantity names"))]
    order = [q for q in QUANTITIES if q in quantities]
    if not quantities or quantities != order or len(set(quantities)) != len(quantities):
        raise ValueError(f"{where}['quantities'] must be a non-empty subset of {', '.join(QUANTITIES)}, in that "
                         f"order, got {quantities}")
    values = _dict(f"{where}['values']", layer["values"])
    for q in values:
        if q not in quantities:
            raise ValueError(f"{where}['values'] has {q!r}, which is not in {where}['quantities'] ({quantities})")
    clean_values: dict[str, list] = {}
    for q in quantities:
        if q not in values:
            raise ValueError(f"{where}['values'] has no {q!r} (listed in {where}['quantities'])")
        at = f"{where}['values'][{q!r}]"
        per_sequence = _list(at, values[q], length=len(lengths), what="one list per sequence")
        clean_values[q] = [
            [_numbers(f"{at}[{s}][{t}]", row, units, "one value per unit")
             for t, row in enumerate(_list(f"{at}[{s}]", steps, length=n, what=f"one list per step of sequence {s}",
                                           count=f"(length {n})"))]
            for s, (steps, n) in enumerate(zip(per_sequence, lengths))]
    stats = _dict(f"{where}['unit_stats']", layer.get("unit_stats", {}))
    clean_stats = {_str(f"{where}['unit_stats'] key", k): _numbers(f"{where}['unit_stats'][{k!r}]", v, units,
                                                                    "one value per unit")
                   for k, v in stats.items()}
    return {"name": _str(f"{where}['name']", layer["name"]), "units": units, "quantities": quantities,
            "values": clean_values, "unit_stats": clean_stats}


def _check(data: Any) -> dict[str, Any]:
    """``data`` validated against the schema (module docstring) and made JSON-ready; ValueError
    naming the key otherwise."""
    data = _dict("data", data, _TOP_KEYS, ("title", "sequences", "layers"))
    title = _str("data['title']", data["title"])
    summary = {_str("data['summary'] key", k): _scalar_or_text(f"data['summary'][{k!r}]", v)
               for k, v in _dict("data['summary']", data.get("summary", {})).items()}
    sequences = [_sequence(f"data['sequences'][{i}]", s) for i, s in
                 enumerate(_list("data['sequences']", data["sequences"], what="sequences"))]
    if not sequences:
        raise ValueError("data['sequences'] must have at least one sequence, got []")
    lengths = [s["length"] for s in sequences]
    layers = [_layer(f"data['layers'][{i}]", la, lengths) for i, la in
              enumerate(_list("data['layers']", data["layers"], what="layers"))]
    if not layers:
        raise ValueError("data['layers'] must have at least one layer, got []")
    highlights = []
    for i, h in enumerate(_list("data['highlights']", data.get("highlights", []), what="highlights")):
        where = f"data['highlights'][{i}]"
        h = _dict(where, h, ("layer", "unit", "why"), ("layer", "unit", "why"))
        k = _int(f"{where}['layer']", h["layer"], minimum=0, maximum=len(layers) - 1)
        u = _int(f"{where}['unit']", h["unit"], minimum=0, maximum=layers[k]["units"] - 1)
        highlights.append({"layer": k, "unit": u, "why": _str(f"{where}['why']", h["why"])})
    return {"title": title, "summary": summary, "sequences": sequences, "layers": layers, "highlights": highlights}


# ----------------------------------------------------------------------------------------------
# Writing

def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary file next to ``path``, then move it over ``path`` in one step,
    so that a reader never sees half a file and a failure leaves the old one in place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _asset(name: str) -> str:
    return (resources.files("lstmkit.explain") / "assets" / name).read_text(encoding="utf-8")


def _embed_json(data: dict[str, Any]) -> str:
    text = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    # Inside <script>, "</" could end the element and "<!--" changes how the parser reads on.
    return text.replace("</", "<\\/").replace("<!--", "\\u003c!--")


def _check_images(images: Any) -> list[tuple[str, Path]]:
    if images is None:
        return []
    if not isinstance(images, dict):
        raise ValueError(f"images must be a dict of title -> path of a PNG or SVG file, got {_describe(images)}")
    out = []
    for title, path in images.items():
        _str("images key (the plot's title)", title)
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"images[{title!r}] must be a path (str or Path), got {_describe(path)}")
        path = Path(path)
        if path.suffix.lower() not in _IMAGE_SUFFIXES:
            raise ValueError(f"images[{title!r}] must be a .png or .svg file, got {str(path)!r}")
        if not path.is_file():
            raise ValueError(f"images[{title!r}] must be an existing file, got {str(path)!r}, which does not exist")
        out.append((title, path))
    return out


def _image_names(images: list[tuple[str, Path]]) -> list[str]:
    """File names for the copies: the original name where it is unique (and not index.html's)."""
    names: list[str] = []
    for i, (_, path) in enumerate(images):
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", path.name).lstrip(".") or f"plot{path.suffix.lower()}"
        if name.lower() in {n.lower() for n in names}:
            name = f"plot{i + 1}-{name}"
        names.append(name)
    return names


def _plots_html(images: list[tuple[str, Path]], names: list[str]) -> str:
    if not images:
        return '<p class="muted">No plots were added to this report.</p>'
    figures = [f'<figure class="plot"><img src="{html.escape(quote(name))}" alt="{html.escape(title)}" '
               f'loading="lazy"><figcaption>{html.escape(title)}</figcaption></figure>'
               for (title, _), name in zip(images, names)]
    return '<div class="plots">' + "".join(figures) + "</div>"


def write_report(data: dict, out_dir: str | Path, images: dict[str, str | Path] | None = None) -> Path:
    """Write the report of ``data`` (schema: module docstring) to the folder ``out_dir``: its
    ``index.html``, plus a copy of each of ``images`` (title -> path of a PNG or SVG file), shown
    in its "Plots" section. The folder is created if missing; files of an earlier report in it are
    overwritten, nothing else is touched. Returns the path of ``index.html``; open it in a browser,
    from disk, offline."""
    clean = _check(data)
    plots = _check_images(images)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out_dir must be a folder, got {str(out)!r}, which is a file")
    names = _image_names(plots)
    css, js, page = _asset("report.css"), _asset("report.js"), _asset("report.html")
    if "</style" in css.lower() or "</script" in js.lower():            # would end the inlined element
        raise RuntimeError("the report's assets must not contain </style or </script")
    fields = {"title": html.escape(clean["title"]), "css": css, "js": js, "data": _embed_json(clean),
              "plots": _plots_html(plots, names)}

    def fill(m: re.Match[str]) -> str:
        return fields[m.group(1)]

    text = re.sub(r"\{\{(title|css|js|data|plots)\}\}", fill, page)    # one pass: filled text is not re-read
    out.mkdir(parents=True, exist_ok=True)
    for (_, source), name in zip(plots, names):
        _write_atomic(out / name, lambda tmp, source=source: shutil.copyfile(source, tmp))
    index = out / "index.html"
    _write_atomic(index, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return index


# ----------------------------------------------------------------------------------------------
# Screenshot

def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    raise RuntimeError("screenshot needs a Chromium browser, and none was found (no 'chromium' or "
                       "'chromium-browser' on PATH, no /usr/bin/chromium); install one, e.g. apt-get install chromium")


def screenshot(index_html: Path, png: Path, *, width: int = 1280, height: int = 900, unit: int | None = None,
               full_page: bool = True) -> Path:
    """Render the report ``index_html`` (from ``write_report``) in headless Chromium, at a window of
    ``width`` x ``height`` pixels, with ``unit`` selected (clicked in the unit list) if given, and
    save the whole page (``full_page``; else the window only) as the PNG ``png``. Returns ``png``. Needs the ``playwright`` Python package
    and a Chromium browser on the machine (Playwright's own browsers are not used); the page must
    render without a script error and without any network request, or RuntimeError says what
    happened."""
    for name, v in (("width", width), ("height", height)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 200 <= v <= 10000:
            raise ValueError(f"{name} must be an int in [200, 10000] (pixels), got {v!r}")
    if unit is not None and (isinstance(unit, bool) or not isinstance(unit, numbers.Integral) or unit < 0):
        raise ValueError(f"unit must be None or an int >= 0, got {unit!r}")
    index_html, png = Path(index_html), Path(png)
    if not index_html.is_file():
        raise ValueError(f"index_html must be an existing report file, got {str(index_html)!r}, which does not exist")
    if png.suffix.lower() != ".png":
        raise ValueError(f"png must be a path ending in .png, got {str(png)!r}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        raise RuntimeError("screenshot needs the 'playwright' Python package (pip install playwright; "
                           "its own browser download is not needed)") from e
    executable = _chromium()
    png.parent.mkdir(parents=True, exist_ok=True)

    def shoot() -> list[str]:
        problems: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
            try:
                page = browser.new_page(viewport={"width": int(width), "height": int(height)})
                page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
                page.on("console", lambda m: problems.append(f"console error: {m.text}") if m.type == "error" else None)

                def block(route: Any) -> None:
                    if route.request.url.startswith(("file:", "data:")):
                        route.continue_()
                    else:
                        problems.append(f"network request to {route.request.url}")
                        route.abort()

                page.route("**/*", block)
                page.goto(index_html.resolve().as_uri())
                page.wait_for_selector("body[data-ready='1']", timeout=15000)
                if unit is not None:
                    item = page.locator(f"#units li[data-unit='{int(unit)}']")
                    if item.count() == 0:
                        count = page.locator("#units li").count()
                        raise ValueError(f"unit must be a unit of the report's first shown layer (0..{count - 1}), "
                                         f"got {unit}")
                    item.click()
                _write_atomic(png, lambda tmp: page.screenshot(path=str(tmp), full_page=full_page, type="png"))
            finally:
                browser.close()
        return problems

    try:
        asyncio.get_running_loop()
        in_loop = True
    except RuntimeError:
        in_loop = False
    if in_loop:         # Playwright's sync API refuses to run inside an event loop (Jupyter, another Playwright)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            problems = pool.submit(shoot).result()
    else:
        problems = shoot()
    if problems:
        png.unlink(missing_ok=True)
        raise RuntimeError(f"the report {str(index_html)!r} did not render cleanly: " + "; ".join(problems))
    return png

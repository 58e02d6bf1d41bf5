"""lstmkit.explain.plots: every plot is written as a valid PNG or SVG from real traces of small
models, a padded sequence draws only its real steps, the 1997 cell has no forget panel, infinite
half-lives get their own bar, and bad arguments are refused with the argument named."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

import lstmkit
from lstmkit.explain import trace
from lstmkit.explain.analysis import memory, saturation

pytest.importorskip("matplotlib")

from lstmkit.explain import plots  # noqa: E402
from lstmkit.explain.plots import (  # noqa: E402
    plot_attribution, plot_gate_saturation, plot_learning_curve, plot_timescales, plot_trace,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LENGTHS = [6, 4, 2]


def _trace(cell: str):
    torch.manual_seed(0)
    model = lstmkit.LSTM(2, 4, batch_first=True, cell=cell).eval()
    x = torch.randn(3, 6, 2)
    x[1, 4:] = 0.0
    x[2, 2:] = 0.0
    return trace(model, x, torch.tensor(LENGTHS))


@pytest.fixture(scope="module")
def forget_trace():
    return _trace("forget")


@pytest.fixture(scope="module")
def vanilla_trace():
    return _trace("vanilla")


def _is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG_MAGIC


def _is_svg(path) -> bool:
    return ET.parse(path).getroot().tag.endswith("svg")


def _axes(fig, prefix: str) -> dict[str, object]:
    return {ax.get_label(): ax for ax in fig.axes if ax.get_label().startswith(prefix)}


# --------------------------------------------------------------------------------------------- plot_trace

def test_plot_trace_writes_png_and_svg(forget_trace, tmp_path):
    lt = forget_trace.layer(0)
    png = plot_trace(lt, tmp_path / "t.png", sequence=1, inputs=forget_trace.inputs[1], input_names=["a", "b"])
    svg = plot_trace(lt, str(tmp_path / "sub" / "t.svg"), sequence=2, tokens=["x", "y"],
                     quantities=("input", "forget", "output", "cell_input", "cell", "hidden"))
    assert png == tmp_path / "t.png" and _is_png(png)
    assert svg == tmp_path / "sub" / "t.svg" and _is_svg(svg)


@pytest.mark.parametrize("sequence", [0, 1, 2])
def test_a_padded_sequence_draws_only_its_real_steps(forget_trace, sequence):
    lt = forget_trace.layer(0)
    steps = LENGTHS[sequence]
    fig = plots._trace_figure(lt, sequence=sequence, inputs=forget_trace.inputs[sequence])
    maps = _axes(fig, "heatmap:")
    assert sorted(maps) == ["heatmap:cell", "heatmap:forget", "heatmap:input", "heatmap:output"]
    for name, ax in maps.items():
        (image,) = ax.get_images()
        data = np.asarray(image.get_array())
        assert data.shape == (4, steps)                              # (units, real steps)
        np.testing.assert_array_equal(data, lt.values[name.split(":")[1]][sequence, :steps].T)
        assert ax.get_xlim() == (-0.5, steps - 0.5)
    (inputs,) = _axes(fig, "inputs").values()
    assert [len(line.get_xdata()) for line in inputs.get_lines()] == [steps, steps]    # a line per feature


def test_trace_colour_scales_and_unit_subset(forget_trace):
    lt = forget_trace.layer(0)
    fig = plots._trace_figure(lt, sequence=1, units=[3, 1], quantities=("forget", "hidden"))
    maps = _axes(fig, "heatmap:")
    gate, = maps["heatmap:forget"].get_images()
    hidden, = maps["heatmap:hidden"].get_images()
    assert gate.get_clim() == (0.0, 1.0)
    low, high = hidden.get_clim()
    assert -low == high > 0 and high == pytest.approx(np.abs(lt["hidden"][1, :4][:, [3, 1]]).max())
    np.testing.assert_array_equal(np.asarray(gate.get_array()), lt["forget"][1, :4][:, [3, 1]].T)
    assert [t.get_text() for t in maps["heatmap:forget"].get_yticklabels()] == ["3", "1"]


def test_tokens_label_the_time_axis(forget_trace):
    for tokens in (["the", "cat", "sat", "down", "pad", "pad"], np.array(["the", "cat", "sat", "down"])):
        fig = plots._trace_figure(forget_trace.layer(0), sequence=1, tokens=tokens)
        bottom = _axes(fig, "heatmap:cell")["heatmap:cell"]
        assert [t.get_text() for t in bottom.get_xticklabels()] == ["the", "cat", "sat", "down"]


def test_vanilla_cell_has_no_forget_panel(vanilla_trace, tmp_path):
    lt = vanilla_trace.layer(0)
    assert "forget" not in lt.values
    fig = plots._trace_figure(lt, sequence=0)
    assert sorted(_axes(fig, "heatmap:")) == ["heatmap:cell", "heatmap:input", "heatmap:output"]
    assert _is_png(plot_trace(lt, tmp_path / "v.png", sequence=1))
    with pytest.raises(ValueError, match="quantities asks for 'forget'"):
        plot_trace(lt, tmp_path / "f.png", quantities=("input", "forget"))
    with pytest.raises(ValueError, match="quantities asks for 'forget'"):
        plot_trace(lt, tmp_path / "f.png", quantities=("input", "forget", "output", "cell"))    # equal, but explicit
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"sequence": 3}, r"sequence must be in 0\.\.2"),
    ({"sequence": -1}, r"sequence must be in 0\.\.2"),
    ({"sequence": 1.0}, "sequence must be an int"),
    ({"quantities": ("gate",)}, "quantities: 'gate' is no traced quantity"),
    ({"quantities": ()}, "quantities must be a non-empty"),
    ({"units": [0, 4]}, r"units must be in 0\.\.3.*\[4\]"),
    ({"units": []}, "units must be a non-empty"),
    ({"units": [0.5]}, "units must be a non-empty 1-D sequence of int"),
    ({"inputs": np.zeros((3, 6, 2))}, "not the whole batch"),
    ({"inputs": np.zeros((5, 2))}, "inputs must have 6 steps"),
    ({"inputs": np.zeros((0, 2))}, "inputs must not be empty"),
    ({"inputs": np.zeros((6, 2)), "input_names": ["a"]}, "input_names must name each of the 2"),
    ({"input_names": ["a", "b"]}, "no inputs were given"),
    ({"tokens": ["a", "b"]}, "tokens must have one entry per step: 6"),
    ({"tokens": "abcdef"}, "tokens must be a list of str"),
])
def test_plot_trace_refuses_bad_arguments(forget_trace, tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_trace(forget_trace.layer(0), tmp_path / "bad.png", **kwargs)
    assert not (tmp_path / "bad.png").exists()


def test_plot_trace_refuses_a_bad_path_and_a_whole_trace(forget_trace, tmp_path):
    with pytest.raises(ValueError, match=r"path must end in \.png or \.svg.*t\.jpg"):
        plot_trace(forget_trace.layer(0), tmp_path / "t.jpg")
    with pytest.raises(ValueError, match="path must end in"):
        plot_trace(forget_trace.layer(0), tmp_path / "t")
    with pytest.raises(TypeError, match=r"layer_trace must be a LayerTrace \(pick one with trace.layer"):
        plot_trace(forget_trace, tmp_path / "t.png")


def test_a_sequence_without_real_steps_is_refused(forget_trace, tmp_path):
    lt = forget_trace.layer(0)
    empty = type(lt)(lt.module, lt.layer, lt.direction, lt.cell, lt.values, np.array([6, 4, 0]))
    with pytest.raises(ValueError, match="sequence 2 has no real steps"):
        plot_trace(empty, tmp_path / "e.png", sequence=2)


# --------------------------------------------------------------------------------------------- plot_attribution

def test_plot_attribution_per_step_and_per_feature(forget_trace, tmp_path):
    rng = np.random.default_rng(0)
    a1 = rng.normal(size=4)
    fig = plots._attribution_figure(a1, tokens=["w", "x", "y", "z"])
    bars = _axes(fig, "bars:")["bars:attribution"]
    assert [p.get_height() for p in bars.patches] == pytest.approx(a1)
    assert {tuple(p.get_facecolor()[:3]) for p in bars.patches if p.get_height() < 0} != \
           {tuple(p.get_facecolor()[:3]) for p in bars.patches if p.get_height() > 0}            # signed colours

    a2 = rng.normal(size=(4, 2))
    fig = plots._attribution_figure(a2, inputs=forget_trace.inputs[1][:4], input_names=["a", "b"])
    (image,) = _axes(fig, "heatmap:")["heatmap:attribution"].get_images()
    assert np.asarray(image.get_array()).shape == (2, 4)
    bars = _axes(fig, "bars:")["bars:attribution"]
    assert [p.get_height() for p in bars.patches] == pytest.approx(a2.sum(axis=1))

    assert _is_png(plot_attribution(a1, tmp_path / "a.png"))
    assert _is_svg(plot_attribution(a2, tmp_path / "a.svg", inputs=forget_trace.inputs[1][:4], title="IG"))


@pytest.mark.parametrize("attribution, kwargs, match", [
    (np.zeros(0), {}, "attribution must not be empty"),
    (np.zeros((2, 2, 2)), {}, "attribution must be 1-D or 2-D"),
    (np.array([1.0, np.nan]), {}, "attribution must be finite"),
    (np.zeros((4, 3)), {"inputs": np.zeros((4, 2))}, "inputs has 2 features but attribution has 3"),
    (np.zeros(4), {"inputs": np.zeros((5, 2))}, "inputs must have 4 steps"),
    (np.zeros(4), {"tokens": ["a"]}, "tokens must have one entry per step: 4"),
    (np.zeros((4, 2)), {"input_names": ["a"]}, "input_names must name each of the 2"),
    (np.zeros(4), {"input_names": ["a"]}, "input_names names input features"),
])
def test_plot_attribution_refuses_bad_arguments(tmp_path, attribution, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_attribution(attribution, tmp_path / "bad.png", **kwargs)


# --------------------------------------------------------------------------------------------- plot_timescales

def test_plot_timescales_counts_infinite_half_lives_apart(forget_trace, vanilla_trace, tmp_path):
    h = np.array([1.0, 2.0, 2.5, 3.0, np.inf, np.inf, np.inf])
    fig = plots._timescales_figure(h)
    hist, infinite = fig.axes
    assert hist.get_label() == "histogram" and infinite.get_label() == "infinite"
    assert sum(p.get_height() for p in hist.patches) == 4
    assert [p.get_height() for p in infinite.patches] == [3]
    assert hist.get_xscale() == "linear"

    wide = plots._timescales_figure(np.array([0.5, 3.0, 40.0, 800.0, np.inf]))
    assert wide.axes[0].get_xscale() == "log" and sum(p.get_height() for p in wide.axes[0].patches) == 4

    no_decay = memory(vanilla_trace.layer(0)).half_life                 # the 1997 cell: all ∞
    assert np.isinf(no_decay).all()
    (only,) = plots._timescales_figure(no_decay).axes
    assert only.get_label() == "infinite" and [p.get_height() for p in only.patches] == [4]

    assert _is_png(plot_timescales(memory(forget_trace.layer(0)).half_life, tmp_path / "t.png"))
    assert _is_png(plot_timescales(no_decay, tmp_path / "inf.png", title="1997"))
    assert _is_svg(plot_timescales(h, tmp_path / "t.svg"))


@pytest.mark.parametrize("half_lives, match", [
    (np.array([]), "half_lives must not be empty"),
    (np.ones((2, 2)), "half_lives must be 1-D"),
    (np.array([1.0, np.nan]), "half_lives must be >= 0"),
    (np.array([1.0, -2.0]), "half_lives must be >= 0"),
    ("long", "half_lives must be a numeric array"),
])
def test_plot_timescales_refuses_bad_arguments(tmp_path, half_lives, match):
    with pytest.raises(ValueError, match=match):
        plot_timescales(half_lives, tmp_path / "bad.png")


# --------------------------------------------------------------------------------------------- learning curve

def test_plot_learning_curve(tmp_path):
    steps = np.arange(1, 301)
    losses = 2.0 * np.exp(-steps / 80) + 0.05
    fig = plots._learning_curve_figure(steps, losses, val_steps=steps[::50], val_losses=losses[::50] + 0.1)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [300, 300, 6, 1]   # raw, running mean, val, best
    assert _is_png(plot_learning_curve(steps, losses, tmp_path / "c.png", val_steps=steps[::50],
                                       val_losses=losses[::50] + 0.1))
    assert _is_svg(plot_learning_curve([0, 1, 2], [1.0, -0.5, -1.0], tmp_path / "c.svg", logy=False, ylabel="reward"))
    with_gap = plot_learning_curve([0, 1, 2, 3], [1.0, np.nan, 0.5, 0.2], tmp_path / "gap.png")
    assert _is_png(with_gap)


@pytest.mark.parametrize("args, kwargs, match", [
    (([1, 2, 3], [1.0, 2.0]), {}, "steps and losses must have the same length, got 3 and 2"),
    (([], []), {}, "steps must not be empty"),
    (([1, 2], [np.nan, np.nan]), {}, "losses has no finite value"),
    (([1, 2], [1.0, 0.0]), {}, "logy=True needs positive losses"),
    (([1, 2], [1.0, 0.5]), {"val_steps": [1]}, "val_steps and val_losses go together"),
    (([1, 2], [1.0, 0.5]), {"val_steps": [1], "val_losses": [0.1, 0.2]}, "val_steps and val_losses must have"),
])
def test_plot_learning_curve_refuses_bad_arguments(tmp_path, args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_learning_curve(*args, tmp_path / "bad.png", **kwargs)


# --------------------------------------------------------------------------------------------- saturation

def test_plot_gate_saturation(forget_trace, vanilla_trace, tmp_path):
    flat = {"input": np.array([0.1, 0.5, 0.0, 1.0]), "output": np.array([0.2, 0.0, 0.3, 0.4])}
    (ax,) = plots._saturation_figure(flat).axes
    assert len(ax.patches) == 2 * 4
    assert [p.get_height() for p in ax.patches[:4]] == pytest.approx(flat["input"])

    nested = saturation(forget_trace.layer(0))                          # {gate: {shut, open, saturated}}
    (ax,) = plots._saturation_figure(nested).axes
    assert len(ax.patches) == 3 * 4 * 2                                 # shut and open stacked per gate and unit

    assert _is_png(plot_gate_saturation(nested, tmp_path / "s.png"))
    assert _is_svg(plot_gate_saturation(saturation(vanilla_trace.layer(0)), tmp_path / "s.svg", title="1997"))


@pytest.mark.parametrize("value, match", [
    ({}, "saturation must be a non-empty dict"),
    ({"input": np.zeros(3), "output": np.zeros(4)}, r"saturation\['output'\] has 4 units, the other gates 3"),
    ({"input": np.array([0.5, 1.5])}, r"saturation\['input'\] must hold fractions in \[0, 1\]"),
    ({"input": np.array([np.nan, np.nan])}, r"saturation\['input'\] must hold fractions in \[0, 1\], got a non-fin"),
    ({"input": np.zeros((2, 2))}, r"saturation\['input'\] must be 1-D"),
    ({"input": {"low": np.zeros(2)}}, r"must hold 'shut' and 'open'"),
])
def test_plot_gate_saturation_refuses_bad_arguments(tmp_path, value, match):
    with pytest.raises(ValueError, match=match):
        plot_gate_saturation(value, tmp_path / "bad.png")

"""Bad arguments fail early, with the right exception type and a message that names the argument,
what was expected and what came.

ValueError for a wrong value or shape, TypeError for a wrong type. Checks that apply to every cell
are parametrised over ``lstmkit.cells()``, so a newly registered cell is covered automatically.

"Before any work": an autouse fixture makes the layers' parameter gathering (the first thing a
forward pass does once its checks have passed) raise AssertionError, so a check that fires only
after the engine started shows up as a failure instead of passing. Positive controls, which must
run, ask for the ``allow_work`` fixture.
"""

from __future__ import annotations

import re

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import lstmkit
import lstmkit.cell_module
import lstmkit.layer
from lstmkit import LSTM, LSTMCell
from lstmkit.cells import REGISTRY, make_cell
from lstmkit.engines import backends, native

CELLS = lstmkit.cells()
NO_FORGET_GATE = [name for name in CELLS if not REGISTRY[name].has_forget_gate]
NOT_FORGET = [name for name in CELLS if name != "forget"]
NOT_NATIVE = [name for name in CELLS if not native.supports(make_cell(name, 3, 4))]

I, H, T, B = 3, 4, 5, 2          # input_size, hidden_size, time steps, batch
BAD_I = 7                        # a wrong feature count


def esc(value) -> str:
    """Regex for the literal text of ``value`` (a shape tuple prints as ``(2, 5, 7)``)."""
    return re.escape(str(value))


def seq(batch_first: bool, *, steps: int = T, batch: int = B, features: int = I, **kw) -> torch.Tensor:
    shape = (batch, steps, features) if batch_first else (steps, batch, features)
    return torch.randn(*shape, **kw)


def layout(batch_first: bool) -> str:
    return "(batch, time, features)" if batch_first else "(time, batch, features)"


@pytest.fixture
def allow_work():
    """Requested by positive controls: the forward pass may run."""


@pytest.fixture(autouse=True)
def forbid_work(request, monkeypatch):
    if "allow_work" in request.fixturenames:
        return

    def fail(*args, **kwargs):
        raise AssertionError("the forward pass started work before its argument checks raised")

    monkeypatch.setattr(lstmkit.layer, "gather", fail)
    monkeypatch.setattr(lstmkit.cell_module, "gather", fail)


batch_first_param = pytest.mark.parametrize("batch_first", [False, True], ids=["time_major", "batch_first"])
cell_param = pytest.mark.parametrize("cell", CELLS)


# --- input: dimensions, type, dtype, emptiness, features, device ------------------------------------

@cell_param
@batch_first_param
@pytest.mark.parametrize("shape", [(I,), (T, B, 1, I)], ids=["1d", "4d"])
def test_lstm_input_wrong_number_of_dims(cell, batch_first, shape):
    m = LSTM(I, H, cell=cell, batch_first=batch_first)
    x = torch.randn(*shape)
    expected = rf"input must be 2-D or 3-D {re.escape(layout(batch_first))}, got {len(shape)}-D of shape {esc(shape)}"
    with pytest.raises(ValueError, match=expected):
        m(x)


@cell_param
def test_cell_input_wrong_number_of_dims(cell):
    m = LSTMCell(I, H, cell=cell)
    with pytest.raises(ValueError, match=rf"input must be 1-D or 2-D .*got 3-D of shape {esc((B, 1, I))}"):
        m(torch.randn(B, 1, I))


@cell_param
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_input_not_a_tensor(cell, module):
    if module == "LSTM":
        m, x = LSTM(I, H, cell=cell), seq(False).tolist()
    else:
        m, x = LSTMCell(I, H, cell=cell), torch.randn(B, I).tolist()
    with pytest.raises(TypeError, match=r"input must be a torch\.Tensor, got list"):
        m(x)


@cell_param
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_input_integer_dtype(cell, module):
    if module == "LSTM":
        m, x = LSTM(I, H, cell=cell), torch.ones(T, B, I, dtype=torch.int64)
    else:
        m, x = LSTMCell(I, H, cell=cell), torch.ones(B, I, dtype=torch.int64)
    with pytest.raises(TypeError, match=r"input must be a floating-point tensor, got dtype torch\.int64"):
        m(x)


@cell_param
@batch_first_param
@pytest.mark.parametrize("empty", ["time", "batch"])
def test_lstm_input_empty(cell, batch_first, empty):
    m = LSTM(I, H, cell=cell, batch_first=batch_first)
    x = seq(batch_first, steps=0 if empty == "time" else T, batch=0 if empty == "batch" else B)
    with pytest.raises(ValueError, match=rf"input must not be empty, got shape {esc(tuple(x.shape))}"):
        m(x)


@cell_param
def test_cell_input_empty(cell):
    with pytest.raises(ValueError, match=rf"input must not be empty, got shape {esc((0, I))}"):
        LSTMCell(I, H, cell=cell)(torch.randn(0, I))


@cell_param
@batch_first_param
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_lstm_input_feature_mismatch(cell, batch_first, batched):
    m = LSTM(I, H, cell=cell, batch_first=batch_first)
    x = seq(batch_first, features=BAD_I) if batched else torch.randn(T, BAD_I)
    expected = rf"input_size={I} .*got shape {esc(tuple(x.shape))} \({BAD_I} features\)"
    with pytest.raises(ValueError, match=expected):
        m(x)


@cell_param
@pytest.mark.parametrize("shape", [(B, BAD_I), (BAD_I,)], ids=["batched", "unbatched"])
def test_cell_input_feature_mismatch(cell, shape):
    with pytest.raises(ValueError, match=rf"input_size={I} .*got shape {esc(shape)}"):
        LSTMCell(I, H, cell=cell)(torch.randn(*shape))


@cell_param
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_input_dtype_differs_from_weights(cell, module):
    if module == "LSTM":
        m, x = LSTM(I, H, cell=cell), seq(False, dtype=torch.float64)
    else:
        m, x = LSTMCell(I, H, cell=cell), torch.randn(B, I, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"input has dtype torch\.float64 but the module's weights are torch\.float32"):
        m(x)


@cell_param
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_input_device_differs_from_weights(cell, module):
    # A second device is simulated with `meta`: a module whose weights live there, called with CPU data.
    if module == "LSTM":
        m, x = LSTM(I, H, cell=cell, device="meta"), seq(False)
    else:
        m, x = LSTMCell(I, H, cell=cell, device="meta"), torch.randn(B, I)
    with pytest.raises(ValueError, match=r"input is on device cpu but the module's weights are on meta"):
        m(x)


@cell_param
def test_state_device_differs_from_weights(cell):
    m = LSTM(I, H, cell=cell)
    r, c = m.cells[0].state_sizes
    hx = (torch.zeros(1, B, r, device="meta"), torch.zeros(1, B, c))
    with pytest.raises(ValueError, match=r"h_0 is on device meta but the module's weights are on cpu"):
        m(seq(False), hx)


# --- lengths ------------------------------------------------------------------------------------------

@cell_param
@batch_first_param
def test_lengths_not_1d(cell, batch_first):
    m = LSTM(I, H, cell=cell, batch_first=batch_first)
    with pytest.raises(ValueError, match=rf"lengths must be 1-D .*got shape {esc((B, 1))}"):
        m(seq(batch_first), lengths=torch.full((B, 1), T))


@cell_param
@pytest.mark.parametrize("lengths", [torch.tensor([5.0, 3.0]), [5.0, 3.0], torch.tensor([True, True]), [True, False]],
                         ids=["float_tensor", "float_list", "bool_tensor", "bool_list"])
def test_lengths_not_integers(cell, lengths):
    m = LSTM(I, H, cell=cell)
    dtype = "bool" if "bool" in str(torch.as_tensor(lengths).dtype) else "float"
    with pytest.raises(TypeError, match=rf"lengths must hold integers, got dtype torch\.{dtype}"):
        m(seq(False), lengths=lengths)


@cell_param
@batch_first_param
@pytest.mark.parametrize("bad", [0, -1])
def test_lengths_below_one(cell, batch_first, bad):
    m = LSTM(I, H, cell=cell, batch_first=batch_first)
    with pytest.raises(ValueError, match=rf"lengths must be >= 1, got {bad} at index 1"):
        m(seq(batch_first), lengths=torch.tensor([T, bad]))


@cell_param
@batch_first_param
def test_lengths_above_steps(cell, batch_first):
    m = LSTM(I, H, cell=cell, batch_first=batch_first)
    with pytest.raises(ValueError, match=rf"lengths must be <= the number of time steps \({T}\), got {T + 1} at index 0"):
        m(seq(batch_first), lengths=[T + 1, 2])


@cell_param
@batch_first_param
@pytest.mark.parametrize("count", [B - 1, B + 1], ids=["too_few", "too_many"])
def test_lengths_wrong_batch(cell, batch_first, count):
    m = LSTM(I, H, cell=cell, batch_first=batch_first)
    with pytest.raises(ValueError, match=rf"lengths must have one entry per sequence: expected {B}, got {count}"):
        m(seq(batch_first), lengths=[2] * count)


def test_lengths_empty_list():
    with pytest.raises(ValueError, match=rf"lengths must have one entry per sequence: expected {B}, got 0"):
        LSTM(I, H)(seq(False), lengths=[])


@cell_param
@batch_first_param
def test_lengths_list_of_ints_works(cell, batch_first, allow_work):
    m = LSTM(I, H, cell=cell, batch_first=batch_first)
    out, (h, c) = m(seq(batch_first), lengths=[T, 2])
    padded = out[1, 2:] if batch_first else out[2:, 1]
    assert out.shape == ((B, T, H) if batch_first else (T, B, H))
    assert torch.equal(padded, torch.zeros_like(padded))


@cell_param
def test_lengths_with_packed_sequence(cell):
    m = LSTM(I, H, cell=cell)
    packed = pack_padded_sequence(seq(False), [T, 2], enforce_sorted=False)
    with pytest.raises(ValueError, match=r"PackedSequence or lengths, not both"):
        m(packed, lengths=[T, 2])


# --- state hx ---------------------------------------------------------------------------------------

def _lstm_state(m: LSTM, batch: int = B):
    r, c = m.cells[0].state_sizes
    n = m.num_layers * m.num_directions
    return (n, batch, r), (n, batch, c)


@cell_param
@batch_first_param
@pytest.mark.parametrize("which", ["batch", "layers", "hidden"])
@pytest.mark.parametrize("part", ["h_0", "c_0"])
def test_lstm_state_wrong_shape(cell, batch_first, which, part):
    m = LSTM(I, H, num_layers=2, bidirectional=True, cell=cell, batch_first=batch_first)
    shapes = list(_lstm_state(m))
    k = 0 if part == "h_0" else 1
    expected = shapes[k]
    bad = list(expected)
    bad[{"layers": 0, "batch": 1, "hidden": 2}[which]] += 1
    shapes[k] = tuple(bad)
    hx = tuple(torch.zeros(s) for s in shapes)
    with pytest.raises(ValueError, match=rf"expected {part} of shape {esc(expected)}, got {esc(tuple(bad))}"):
        m(seq(batch_first), hx)


@cell_param
def test_lstm_unbatched_input_with_batched_state(cell):
    m = LSTM(I, H, cell=cell)
    (n, _, r), (_, _, c) = _lstm_state(m)
    with pytest.raises(ValueError, match=rf"expected h_0 of shape {esc((n, r))}, got {esc((n, 1, r))}"):
        m(torch.randn(T, I), (torch.zeros(n, 1, r), torch.zeros(n, 1, c)))


@cell_param
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_state_not_a_tuple(cell, module):
    if module == "LSTM":
        m = LSTM(I, H, cell=cell)
        x, hx = seq(False), torch.zeros(_lstm_state(m)[0])
    else:
        m = LSTMCell(I, H, cell=cell)
        x, hx = torch.randn(B, I), torch.zeros(B, m.spec.state_sizes[0])
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h_0, c_0\), got Tensor"):
        m(x, hx)


@cell_param
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_state_element_not_a_tensor(cell, module):
    if module == "LSTM":
        m = LSTM(I, H, cell=cell)
        x, c0 = seq(False), torch.zeros(_lstm_state(m)[1])
    else:
        m = LSTMCell(I, H, cell=cell)
        x, c0 = torch.randn(B, I), torch.zeros(B, H)
    with pytest.raises(TypeError, match=r"h_0 must be a torch\.Tensor, got NoneType"):
        m(x, (None, c0))


@cell_param
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_state_dtype_differs_from_weights(cell, module):
    if module == "LSTM":
        m = LSTM(I, H, cell=cell)
        x, (hs, cs) = seq(False), _lstm_state(m)
    else:
        m = LSTMCell(I, H, cell=cell)
        x, (hs, cs) = torch.randn(B, I), ((B, m.spec.state_sizes[0]), (B, H))
    hx = (torch.zeros(hs, dtype=torch.float64), torch.zeros(cs))
    with pytest.raises(TypeError, match=r"h_0 has dtype torch\.float64 but the module's weights are torch\.float32"):
        m(x, hx)


@cell_param
@pytest.mark.parametrize("which", ["batch", "hidden"])
@pytest.mark.parametrize("part", ["h_0", "c_0"])
def test_cell_state_wrong_shape(cell, which, part):
    m = LSTMCell(I, H, cell=cell)
    shapes = [(B, m.spec.state_sizes[0]), (B, m.spec.state_sizes[1])]
    k = 0 if part == "h_0" else 1
    expected = shapes[k]
    bad = (expected[0] + 1, expected[1]) if which == "batch" else (expected[0], expected[1] + 1)
    shapes[k] = bad
    with pytest.raises(ValueError, match=rf"expected {part} of shape {esc(expected)}, got {esc(bad)}"):
        m(torch.randn(B, I), tuple(torch.zeros(s) for s in shapes))


@cell_param
def test_cell_unbatched_input_with_batched_state(cell):
    m = LSTMCell(I, H, cell=cell)
    r, c = m.spec.state_sizes
    with pytest.raises(ValueError, match=rf"expected h_0 of shape {esc((r,))}, got {esc((1, r))}"):
        m(torch.randn(I), (torch.zeros(1, r), torch.zeros(1, c)))


def test_vanilla_recurrent_gates_state_is_wider():
    # h carries y (H) and both gates of each block: H + 2 * (H / block_size) = 4 + 2 * 2 = 8.
    opts = {"cell": "vanilla", "block_size": 2, "recurrent_gates": True}
    m = LSTM(I, H, **opts)
    with pytest.raises(ValueError, match=rf"expected h_0 of shape {esc((1, B, 8))}, got {esc((1, B, H))}"):
        m(seq(False), (torch.zeros(1, B, H), torch.zeros(1, B, H)))
    cell = LSTMCell(I, H, **opts)
    with pytest.raises(ValueError, match=rf"expected h_0 of shape {esc((B, 8))}, got {esc((B, H))}"):
        cell(torch.randn(B, I), (torch.zeros(B, H), torch.zeros(B, H)))


def test_state_tuple_of_wrong_length():
    m = LSTM(I, H)
    h0 = torch.zeros(1, B, H)
    with pytest.raises(ValueError, match=r"hx must be a tuple of 2 tensors \(h_0, c_0\), got a tuple of 3"):
        m(seq(False), (h0, h0, h0))


# --- cell name and options ----------------------------------------------------------------------------

@pytest.mark.parametrize("module", [LSTM, LSTMCell], ids=["LSTM", "LSTMCell"])
def test_unknown_cell_lists_known_cells(module):
    with pytest.raises(ValueError, match=r"unknown cell 'gru'") as info:
        module(I, H, cell="gru")
    for name in CELLS:
        assert name in str(info.value)


@pytest.mark.parametrize("module", [LSTM, LSTMCell], ids=["LSTM", "LSTMCell"])
@pytest.mark.parametrize("bad", [1, ["forget"]], ids=["int", "list"])
def test_cell_not_a_str(module, bad):
    with pytest.raises(TypeError, match=rf"cell must be a str .*got {type(bad).__name__}"):
        module(I, H, cell=bad)


def test_forget_has_no_block_size():
    with pytest.raises(ValueError, match=r"cell 'forget' has no option 'block_size'; its options are: none"):
        LSTM(I, H, cell="forget", block_size=2)


@cell_param
@pytest.mark.parametrize("module", [LSTM, LSTMCell], ids=["LSTM", "LSTMCell"])
def test_unknown_cell_option_lists_the_cells_options(cell, module):
    with pytest.raises(ValueError, match=rf"cell '{cell}' has no option 'not_an_option'; its options are:") as info:
        module(I, H, cell=cell, not_an_option=1)
    message = str(info.value)
    for option in REGISTRY[cell].options:
        assert option in message


@pytest.mark.parametrize("module", [LSTM, LSTMCell], ids=["LSTM", "LSTMCell"])
@pytest.mark.parametrize("hidden, options, error, pattern", [
    (H, {"block_size": 0}, ValueError, r"block_size must be >= 1, got 0"),
    (6, {"block_size": 4}, ValueError, r"block_size must divide hidden_size \(6\) into whole blocks, got 4"),
    (H, {"block_size": "2"}, TypeError, r"block_size must be an int, got str \('2'\)"),
    (H, {"truncated": "yes"}, TypeError, r"truncated must be a bool, got str \('yes'\)"),
    (H, {"recurrent_gates": 1}, TypeError, r"recurrent_gates must be a bool, got int \(1\)"),
    (H, {"cell_input_bias": "no"}, TypeError, r"cell_input_bias must be a bool, got str \('no'\)"),
], ids=["block_size_0", "block_size_not_dividing", "block_size_str", "truncated_str", "recurrent_gates_int",
        "cell_input_bias_str"])
def test_bad_vanilla_option_values(module, hidden, options, error, pattern):
    with pytest.raises(error, match=pattern):
        module(I, hidden, cell="vanilla", **options)


# --- sizes and common arguments -----------------------------------------------------------------------

COMMON_BAD = [
    ({"proj_size": H}, ValueError, rf"proj_size must be smaller than hidden_size \({H}\), got {H}"),
    ({"proj_size": H + 1}, ValueError, rf"proj_size must be smaller than hidden_size \({H}\), got {H + 1}"),
    ({"proj_size": -1}, ValueError, r"proj_size must be >= 0, got -1"),
    ({"proj_size": 1.0}, TypeError, r"proj_size must be an int, got float \(1\.0\)"),
    ({"hidden_size": 0}, ValueError, r"hidden_size must be >= 1, got 0"),
    ({"input_size": 0}, ValueError, r"input_size must be >= 1, got 0"),
    ({"input_size": None}, TypeError, r"input_size must be an int, got NoneType"),
    ({"bias": "no"}, TypeError, r"bias must be a bool, got str \('no'\)"),
    ({"check_finite": "yes"}, TypeError, r"check_finite must be a bool, got str \('yes'\)"),
]
COMMON_IDS = ["proj_eq_hidden", "proj_gt_hidden", "proj_negative", "proj_float", "hidden_0", "input_0",
              "input_none", "bias_str", "check_finite_str"]


def _build(module, kwargs):
    args = {"input_size": I, "hidden_size": H, **kwargs}
    return module(args.pop("input_size"), args.pop("hidden_size"), **args)


@cell_param
@pytest.mark.parametrize("module", [LSTM, LSTMCell], ids=["LSTM", "LSTMCell"])
@pytest.mark.parametrize("kwargs, error, pattern", COMMON_BAD, ids=COMMON_IDS)
def test_bad_common_argument(cell, module, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        _build(module, {"cell": cell, **kwargs})


@cell_param
@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"num_layers": 0}, ValueError, r"num_layers must be >= 1, got 0"),
    ({"num_layers": 1.5}, TypeError, r"num_layers must be an int, got float \(1\.5\)"),
    ({"dropout": -0.1}, ValueError, r"dropout must be in \[0\.0, 1\.0\], got -0\.1"),
    ({"dropout": 1.5}, ValueError, r"dropout must be in \[0\.0, 1\.0\], got 1\.5"),
    ({"dropout": float("nan")}, ValueError, r"dropout must be a number, got nan"),
    ({"dropout": "0.1"}, TypeError, r"dropout must be a float, got str \('0\.1'\)"),
    ({"dtype": torch.int64}, TypeError, r"dtype must be a floating-point torch\.dtype.*, got torch\.int64"),
    ({"dtype": "float32"}, TypeError, r"dtype must be a floating-point torch\.dtype.*, got 'float32'"),
    ({"batch_first": "yes"}, TypeError, r"batch_first must be a bool, got str \('yes'\)"),
    ({"bidirectional": 1}, TypeError, r"bidirectional must be a bool, got int \(1\)"),
], ids=["num_layers_0", "num_layers_float", "dropout_negative", "dropout_above_1", "dropout_nan", "dropout_str",
        "dtype_int64", "dtype_str", "batch_first_str", "bidirectional_int"])
def test_bad_lstm_argument(cell, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        LSTM(I, H, cell=cell, **kwargs)


@pytest.mark.parametrize("dtype", [torch.int64, "float32"])
def test_cell_dtype_must_be_floating(dtype):
    with pytest.raises(TypeError, match=rf"dtype must be a floating-point torch\.dtype.*, got {re.escape(repr(dtype))}"):
        LSTMCell(I, H, dtype=dtype)



def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match=r"dropout acts between layers.*num_layers=1.*dropout=0\.5"):
        LSTM(I, H, dropout=0.5)


def test_dropout_with_two_layers_does_not_warn():
    LSTM(I, H, num_layers=2, dropout=0.5)         # warnings are errors: a warning here fails the test


# --- backend ------------------------------------------------------------------------------------------

def test_unknown_backend_lists_valid_ones():
    with pytest.raises(ValueError, match=r"backend must be one of .*got 'Native'") as info:
        LSTM(I, H, backend="Native")
    for name in backends():
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("cell", NOT_NATIVE)
def test_native_backend_with_unsupported_cell_fails_at_construction(cell):
    with pytest.raises(ValueError, match=rf"backend 'native' cannot run cell '{cell}'; use one of: auto, reference"):
        LSTM(I, H, cell=cell, backend="native")


@pytest.mark.parametrize("cell", NOT_NATIVE)
def test_native_backend_set_later_fails_before_work(cell):
    m = LSTM(I, H, cell=cell)
    m.backend = "native"
    with pytest.raises(ValueError, match=rf"backend 'native' cannot run cell '{cell}'"):
        m(seq(False))


def test_backend_not_a_str():
    with pytest.raises(TypeError, match=r"backend must be .*got None"):
        LSTM(I, H, backend=None)


# --- forget_bias --------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", NO_FORGET_GATE)
@pytest.mark.parametrize("module", [LSTM, LSTMCell], ids=["LSTM", "LSTMCell"])
def test_forget_bias_on_cell_without_forget_gate(module, cell):
    with pytest.raises(ValueError, match=rf"forget_bias was given \(2\.0\) but cell '{cell}' has no forget gate"):
        module(I, H, cell=cell, forget_bias=2.0)


@cell_param
@pytest.mark.parametrize("module", [LSTM, LSTMCell], ids=["LSTM", "LSTMCell"])
def test_forget_bias_not_a_number(module, cell):
    with pytest.raises(TypeError, match=r"forget_bias must be a float, got str \('abc'\)"):
        module(I, H, cell=cell, forget_bias="abc")


@pytest.mark.parametrize("module", [LSTM, LSTMCell], ids=["LSTM", "LSTMCell"])
def test_forget_bias_without_bias(module):
    with pytest.raises(ValueError, match=r"forget_bias.*bias=False"):
        module(I, H, bias=False, forget_bias=2.0)


# --- non-finite values --------------------------------------------------------------------------------

@cell_param
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_non_finite_input(cell, bad, module):
    if module == "LSTM":
        m, x = LSTM(I, H, cell=cell, check_finite=True), seq(False)
        x[1, 0, 2] = bad
        index = (1, 0, 2)
    else:
        m, x = LSTMCell(I, H, cell=cell, check_finite=True), torch.randn(B, I)
        x[1, 2] = bad
        index = (1, 2)
    with pytest.raises(ValueError, match=rf"input contains non-finite values .*first at index {esc(index)}"):
        m(x)


@cell_param
@pytest.mark.parametrize("part", ["h_0", "c_0"])
@pytest.mark.parametrize("module", ["LSTM", "LSTMCell"])
def test_non_finite_state(cell, part, module):
    if module == "LSTM":
        m = LSTM(I, H, cell=cell, check_finite=True)
        x, shapes = seq(False), _lstm_state(m)
    else:
        m = LSTMCell(I, H, cell=cell, check_finite=True)
        x, shapes = torch.randn(B, I), ((B, m.spec.state_sizes[0]), (B, H))
    hx = [torch.zeros(s) for s in shapes]
    hx[0 if part == "h_0" else 1].view(-1)[-1] = float("nan")
    with pytest.raises(ValueError, match=rf"{part} contains non-finite values"):
        m(x, tuple(hx))


@cell_param
def test_non_finite_packed_input(cell):
    m = LSTM(I, H, cell=cell, check_finite=True)
    x = seq(False)
    x[0, 1, 0] = float("nan")
    with pytest.raises(ValueError, match=r"input contains non-finite values"):
        m(pack_padded_sequence(x, [T, 2], enforce_sorted=False))


@cell_param
def test_non_finite_input_passes_without_check(cell, allow_work):
    x = seq(False)
    x[1, 0, 2] = float("nan")
    out, _ = LSTM(I, H, cell=cell, check_finite=False)(x)
    assert out.shape == (T, B, H)
    assert torch.isnan(out).any()


# --- torch interchange --------------------------------------------------------------------------------

def test_from_torch_needs_an_lstm():
    with pytest.raises(TypeError, match=r"module must be a torch\.nn\.LSTM, got GRU"):
        LSTM.from_torch(torch.nn.GRU(I, H))


@pytest.mark.parametrize("cell", NOT_FORGET)
def test_to_torch_needs_the_forget_cell(cell):
    with pytest.raises(ValueError, match=rf"to_torch needs cell='forget' .*this layer has cell='{cell}'"):
        LSTM(I, H, cell=cell).to_torch()

"""Hand-worked cases: each expected value is derived in the comments.

Every case runs through both the fast path and the loop reference, so a
regression in either shows up against arithmetic done on paper.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core import ParamError, avg_pool2d, conv2d, conv_transpose2d, max_pool2d
from app.core.reference import (
    avg_pool2d_reference,
    conv2d_reference,
    conv_transpose2d_reference,
    max_pool2d_reference,
)

CONVS = [pytest.param(conv2d, id="fast"), pytest.param(conv2d_reference, id="reference")]
TRANSPOSES = [
    pytest.param(conv_transpose2d, id="fast"),
    pytest.param(conv_transpose2d_reference, id="reference"),
]
AVGS = [pytest.param(avg_pool2d, id="fast"), pytest.param(avg_pool2d_reference, id="reference")]


def _max_fast(x, kernel_size, **kw):
    return max_pool2d(x, kernel_size, return_indices=True, **kw)


MAXES = [pytest.param(_max_fast, id="fast"), pytest.param(max_pool2d_reference, id="reference")]

PATCH = [[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]
EDGE = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]


def k4(kernel) -> np.ndarray:
    """A 2-D kernel as a one-filter, one-channel weight (1, 1, kh, kw)."""
    return np.asarray(kernel, dtype=np.float64)[None, None]


def c1(x) -> np.ndarray:
    """A 2-D input as one channel (1, H, W)."""
    return np.asarray(x, dtype=np.float64)[None]


# --- conv2d -------------------------------------------------------------------


@pytest.mark.parametrize("conv", CONVS)
def test_edge_filter_on_patch_gives_2_3(conv) -> None:
    # top row 0.6 + 0.2 + 0.6 = 1.4, minus bottom row (-0.5 - 0.1 - 0.3 = -0.9) -> 2.3
    out = conv(c1(PATCH), k4(EDGE))
    assert out.shape == (1, 1, 1)
    assert out[0, 0, 0] == pytest.approx(2.3, abs=1e-12)
    neg = conv(-c1(PATCH), k4(EDGE))
    assert neg[0, 0, 0] == pytest.approx(-2.3, abs=1e-12)


@pytest.mark.parametrize("conv", CONVS)
def test_arange_with_2x2_kernel(conv) -> None:
    # x = [[0,1,2],[3,4,5],[6,7,8]], k = [[0,1],[2,3]] (no flip: cross-correlation)
    # (0,0): 0*0 + 1*1 + 3*2 + 4*3 = 19     (0,1): 1*0 + 2*1 + 4*2 + 5*3 = 25
    # (1,0): 3*0 + 4*1 + 6*2 + 7*3 = 37     (1,1): 4*0 + 5*1 + 7*2 + 8*3 = 43
    x = np.arange(9.0).reshape(3, 3)
    out = conv(c1(x), k4([[0, 1], [2, 3]]))
    np.testing.assert_array_equal(out[0], [[19, 25], [37, 43]])


@pytest.mark.parametrize("conv", CONVS)
def test_kernel_is_not_flipped(conv) -> None:
    # a single 1 at the kernel's top-left picks the window's top-left: out[i, j] = x[i, j]
    # (a true convolution would pick x[i + 1, j + 1])
    x = np.arange(9.0).reshape(3, 3)
    out = conv(c1(x), k4([[1, 0], [0, 0]]))
    np.testing.assert_array_equal(out[0], [[0, 1], [3, 4]])


@pytest.mark.parametrize("conv", CONVS)
def test_bias_scalar_and_per_filter(conv) -> None:
    x = np.arange(9.0).reshape(3, 3)
    w = np.stack([k4([[0, 1], [2, 3]])[0], -k4([[0, 1], [2, 3]])[0]])  # (2, 1, 2, 2)
    out = conv(c1(x), w, bias=[0.5, -1.0])
    np.testing.assert_array_equal(out[0], [[19.5, 25.5], [37.5, 43.5]])
    np.testing.assert_array_equal(out[1], [[-20, -26], [-38, -44]])
    out = conv(c1(x), w, bias=1.0)
    np.testing.assert_array_equal(out[1], [[-18, -24], [-36, -42]])


@pytest.mark.parametrize("conv", CONVS)
def test_stride(conv) -> None:
    # x = arange(16) as 4x4; a 2x2 box of ones at stride 2 sums disjoint blocks:
    # 0+1+4+5 = 10, 2+3+6+7 = 18, 8+9+12+13 = 42, 10+11+14+15 = 50
    x = np.arange(16.0).reshape(4, 4)
    out = conv(c1(x), k4(np.ones((2, 2))), stride=2)
    np.testing.assert_array_equal(out[0], [[10, 18], [42, 50]])
    # a 1x1 kernel at stride 3 on 5x5 samples rows/cols 0 and 3: x[0,0]=0, x[0,3]=3, x[3,0]=15
    x = np.arange(25.0).reshape(5, 5)
    out = conv(c1(x), k4([[1]]), stride=3)
    np.testing.assert_array_equal(out[0], [[0, 3], [15, 18]])
    # different strides per axis: rows at stride 2 (0, 2), cols at stride 1 (0..4) -> x[::2][:3]
    out = conv(c1(x), k4([[1]]), stride=[2, 1])
    np.testing.assert_array_equal(out[0], x[::2])


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize(
    ("mode", "row"),
    [
        # the row a b c d = 1 2 3 4, padded by 2 on the left and right
        ("zeros", [0, 0, 1, 2, 3, 4, 0, 0]),
        ("reflect", [3, 2, 1, 2, 3, 4, 3, 2]),  # mirror, edge not repeated
        ("replicate", [1, 1, 1, 2, 3, 4, 4, 4]),  # edge repeated
        ("circular", [3, 4, 1, 2, 3, 4, 1, 2]),  # wrap around
    ],
)
def test_padding_modes_on_a_row(conv, mode, row) -> None:
    # a 1x1 identity kernel turns the padded input into the output
    x = [[1.0, 2.0, 3.0, 4.0]]
    out = conv(c1(x), k4([[1]]), padding=[0, 0, 2, 2], padding_mode=mode)
    np.testing.assert_array_equal(out[0], [row])


@pytest.mark.parametrize("conv", CONVS)
def test_difference_kernel_with_reflect_padding(conv) -> None:
    # reflect by 1: 2 | 1 2 3 4 | 3; kernel [1, -1]: p[j] - p[j+1]
    # 2-1 = 1, 1-2 = -1, 2-3 = -1, 3-4 = -1, 4-3 = 1
    out = conv(
        c1([[1.0, 2.0, 3.0, 4.0]]), k4([[1, -1]]), padding=[0, 0, 1, 1], padding_mode="reflect"
    )
    np.testing.assert_array_equal(out[0], [[1, -1, -1, -1, 1]])


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        # x = [[1,2],[3,4]] padded by 1, then summed by a 3x3 box of ones.
        # zeros: every window holds the whole input -> 10 everywhere
        ("zeros", [[10, 10], [10, 10]]),
        # replicate: [[1,1,2,2],[1,1,2,2],[3,3,4,4],[3,3,4,4]]
        #   (0,0) 1+1+2 + 1+1+2 + 3+3+4 = 18   (0,1) 1+2+2 + 1+2+2 + 3+4+4 = 21
        #   (1,0) 1+1+2 + 3+3+4 + 3+3+4 = 24   (1,1) 1+2+2 + 3+4+4 + 3+4+4 = 27
        ("replicate", [[18, 21], [24, 27]]),
        # circular: [[4,3,4,3],[2,1,2,1],[4,3,4,3],[2,1,2,1]]
        #   (0,0) 4+3+4 + 2+1+2 + 4+3+4 = 27   (0,1) 3+4+3 + 1+2+1 + 3+4+3 = 24
        #   (1,0) 2+1+2 + 4+3+4 + 2+1+2 = 21   (1,1) 1+2+1 + 3+4+3 + 1+2+1 = 18
        ("circular", [[27, 24], [21, 18]]),
    ],
)
def test_padding_modes_2d(conv, mode, expected) -> None:
    out = conv(c1([[1.0, 2.0], [3.0, 4.0]]), k4(np.ones((3, 3))), padding=1, padding_mode=mode)
    np.testing.assert_array_equal(out[0], expected)


@pytest.mark.parametrize("conv", CONVS)
def test_reflect_2d(conv) -> None:
    # x = arange(9) 3x3, reflect by 1:
    #   4 3 4 5 4
    #   1 0 1 2 1
    #   4 3 4 5 4
    #   7 6 7 8 7
    #   4 3 4 5 4
    # a kernel with a single 1 at the top-left reads the padded cell (i, j)
    x = np.arange(9.0).reshape(3, 3)
    out = conv(c1(x), k4([[1, 0, 0], [0, 0, 0], [0, 0, 0]]), padding=1, padding_mode="reflect")
    np.testing.assert_array_equal(out[0], [[4, 3, 4], [1, 0, 1], [4, 3, 4]])


@pytest.mark.parametrize("conv", CONVS)
def test_asymmetric_padding(conv) -> None:
    # [top, bottom, left, right] = [1, 0, 0, 2] on [[1, 2]] with a 1x1 kernel:
    #   0 0 0 0
    #   1 2 0 0
    out = conv(c1([[1.0, 2.0]]), k4([[1]]), padding=[1, 0, 0, 2])
    np.testing.assert_array_equal(out[0], [[0, 0, 0, 0], [1, 2, 0, 0]])


@pytest.mark.parametrize("conv", CONVS)
def test_dilation(conv) -> None:
    # row 1 2 3 4 5, kernel [1, 10, 100] at dilation 2 taps x[0], x[2], x[4]:
    # 1*1 + 10*3 + 100*5 = 531 (effective kernel 5 -> one output)
    out = conv(c1([[1.0, 2, 3, 4, 5]]), k4([[1, 10, 100]]), dilation=2)
    np.testing.assert_array_equal(out[0], [[531]])
    # x = arange(25) 5x5, 2x2 ones at dilation 2 (effective 3x3) -> 3x3 output:
    # out[i,j] = x[i,j] + x[i,j+2] + x[i+2,j] + x[i+2,j+2]
    #          = (5i+j) + (5i+j+2) + (5i+10+j) + (5i+10+j+2) = 20i + 4j + 24
    x = np.arange(25.0).reshape(5, 5)
    out = conv(c1(x), k4(np.ones((2, 2))), dilation=2)
    i, j = np.mgrid[0:3, 0:3]
    np.testing.assert_array_equal(out[0], 20 * i + 4 * j + 24)


@pytest.mark.parametrize("conv", CONVS)
def test_same_and_full_padding(conv) -> None:
    x = np.arange(9.0).reshape(3, 3)
    # "same" at stride 1 with a 2x2 kernel: total padding 1, all of it at the bottom/right
    #   0 1 2 0
    #   3 4 5 0      2x2 box sums: 0+1+3+4 = 8, 1+2+4+5 = 12, 2+0+5+0 = 7
    #   6 7 8 0                    3+4+6+7 = 20, 4+5+7+8 = 24, 5+8 = 13
    #   0 0 0 0                    6+7 = 13, 7+8 = 15, 8
    out = conv(c1(x), k4(np.ones((2, 2))), padding="same")
    np.testing.assert_array_equal(out[0], [[8, 12, 7], [20, 24, 13], [13, 15, 8]])
    # "same" at stride 2 on 3 -> ceil(3/2) = 2 outputs, total (2-1)*2 + 3 - 3 = 2 -> 1 | 1
    out = conv(c1(x), k4(np.ones((3, 3))), padding="same", stride=2)
    # windows centred on (0,0), (0,2), (2,0), (2,2): 0+1+3+4 = 8, 1+2+4+5 = 12, ...
    np.testing.assert_array_equal(out[0], [[8, 12], [20, 24]])
    # "full" with a 2x2 kernel pads by 1 everywhere -> 4x4; a top-left tap reads padded (i, j)
    out = conv(c1(x), k4([[1, 0], [0, 0]]), padding="full")
    np.testing.assert_array_equal(out[0], np.pad(x, 1)[:4, :4])
    # "valid" is no padding
    np.testing.assert_array_equal(conv(c1(x), k4([[1]]), padding="valid")[0], x)


@pytest.mark.parametrize("conv", CONVS)
def test_channels_sum_and_groups(conv) -> None:
    # two channels [[1]] and [[2]] (1x1), one filter with weights 3 and 5: 1*3 + 2*5 = 13
    x = np.array([[[1.0]], [[2.0]]])
    out = conv(x, np.array([[[[3.0]], [[5.0]]]]))
    np.testing.assert_array_equal(out, [[[13]]])
    # groups=2: filter 0 sees only channel 0, filter 1 only channel 1 -> 1*3, 2*5
    out = conv(x, np.array([[[[3.0]]], [[[5.0]]]]), groups=2)
    np.testing.assert_array_equal(out, [[[3]], [[10]]])


@pytest.mark.parametrize("conv", CONVS)
def test_batched_input_keeps_the_batch_axis(conv) -> None:
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    batch = np.concatenate([x, -x])  # (2, 1, 3, 3)
    out = conv(batch, k4([[0, 1], [2, 3]]))
    assert out.shape == (2, 1, 2, 2)
    np.testing.assert_array_equal(out[0, 0], [[19, 25], [37, 43]])
    np.testing.assert_array_equal(out[1, 0], [[-19, -25], [-37, -43]])


# --- conv_transpose2d -----------------------------------------------------------


@pytest.mark.parametrize("tconv", TRANSPOSES)
def test_transpose_stride_2_places_blocks(tconv) -> None:
    # each input cell scatters value * kernel into its own 2x2 block (stride 2 = kernel size)
    x = c1([[1.0, 2.0], [3.0, 4.0]])
    k = k4([[1, 10], [100, 1000]])
    out = tconv(x, k, stride=2)
    expected = [
        [1, 10, 2, 20],
        [100, 1000, 200, 2000],
        [3, 30, 4, 40],
        [300, 3000, 400, 4000],
    ]
    np.testing.assert_array_equal(out[0], expected)
    # padding 1 crops one cell from every side: (2-1)*2 - 2*1 + 2 = 2
    np.testing.assert_array_equal(tconv(x, k, stride=2, padding=1)[0], [[1000, 200], [30, 4]])
    # output_padding 1 adds a row and a column at the bottom/right that only bias reaches
    out = tconv(x, k, stride=2, output_padding=1, bias=0.5)
    assert out.shape == (1, 5, 5)
    np.testing.assert_array_equal(out[0, :4, :4], np.array(expected) + 0.5)
    np.testing.assert_array_equal(out[0, 4], [0.5] * 5)
    np.testing.assert_array_equal(out[0, :, 4], [0.5] * 5)


@pytest.mark.parametrize("tconv", TRANSPOSES)
def test_transpose_overlaps_add(tconv) -> None:
    # [[1, 2]] with [[1, 1]] at stride 1: 1 lands on cols 0,1 and 2 on cols 1,2 -> [1, 3, 2]
    out = tconv(c1([[1.0, 2.0]]), k4([[1, 1]]))
    np.testing.assert_array_equal(out[0], [[1, 3, 2]])
    # a 3x3 ones kernel on 2x2 ones: each output counts how many 3x3 blocks cover it
    out = tconv(c1(np.ones((2, 2))), k4(np.ones((3, 3))))
    np.testing.assert_array_equal(out[0], [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


@pytest.mark.parametrize("tconv", TRANSPOSES)
def test_transpose_dilation(tconv) -> None:
    # [[2]] with [[1, 3]] at dilation 3: taps at cols 0 and 3 -> [2, 0, 0, 6]
    out = tconv(c1([[2.0]]), k4([[1, 3]]), dilation=3)
    np.testing.assert_array_equal(out[0], [[2, 0, 0, 6]])


@pytest.mark.parametrize("tconv", TRANSPOSES)
def test_transpose_channels(tconv) -> None:
    # weight (C=2, O=1): both channels scatter into the one output and add up
    x = np.array([[[1.0]], [[2.0]]])
    w = np.array([[[[1.0, 1.0]]], [[[10.0, -10.0]]]])
    np.testing.assert_array_equal(tconv(x, w), [[[21, -19]]])
    # groups=2 with weight (2, 1): each channel feeds its own output
    np.testing.assert_array_equal(tconv(x, w, groups=2), [[[1, 1]], [[20, -20]]])


# --- pooling --------------------------------------------------------------------


@pytest.mark.parametrize("pool", MAXES)
def test_max_pool_basic_and_indices(pool) -> None:
    # x = arange(16) 4x4, 2x2 windows at stride 2: the bottom-right cell of each block wins
    x = np.arange(16.0).reshape(4, 4)
    out, idx = pool(c1(x), 2)
    np.testing.assert_array_equal(out[0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(idx[0], [[5, 7], [13, 15]])  # flat r * 4 + c


@pytest.mark.parametrize("pool", MAXES)
def test_max_pool_padding_never_wins(pool) -> None:
    # [[-1,-2],[-3,-4]], 2x2 windows, stride 1, padding 1 -> 3x3; padding is -inf:
    #   (0,0) {-1}         (0,1) {-1,-2}        (0,2) {-2}
    #   (1,0) {-1,-3}      (1,1) all -> -1      (1,2) {-2,-4}
    #   (2,0) {-3}         (2,1) {-3,-4}        (2,2) {-4}
    out, idx = pool(c1([[-1.0, -2.0], [-3.0, -4.0]]), 2, stride=1, padding=1)
    np.testing.assert_array_equal(out[0], [[-1, -1, -2], [-1, -1, -2], [-3, -3, -4]])
    np.testing.assert_array_equal(idx[0], [[0, 0, 1], [0, 0, 1], [2, 2, 3]])


@pytest.mark.parametrize("pool", MAXES)
def test_max_pool_ties_pick_the_first_in_window_order(pool) -> None:
    out, idx = pool(c1(np.zeros((2, 2))), 2)
    assert out[0, 0, 0] == 0
    assert idx[0, 0, 0] == 0


@pytest.mark.parametrize("pool", MAXES)
def test_max_pool_dilation(pool) -> None:
    # x = arange(25) 5x5, 2x2 kernel at dilation 2, stride 1 -> taps (i,j),(i,j+2),(i+2,j),(i+2,j+2)
    # the largest is x[i+2, j+2] = 5(i+2) + j+2 = 5i + j + 12
    x = np.arange(25.0).reshape(5, 5)
    out, idx = pool(c1(x), 2, stride=1, dilation=2)
    i, j = np.mgrid[0:3, 0:3]
    np.testing.assert_array_equal(out[0], 5 * i + j + 12)
    np.testing.assert_array_equal(idx[0], 5 * i + j + 12)


@pytest.mark.parametrize("pool", MAXES)
def test_max_pool_ceil_mode(pool) -> None:
    # 5x5 arange, 2x2 windows at stride 2: floor -> 2x2, ceil -> 3x3 (last windows hang over)
    x = np.arange(25.0).reshape(5, 5)
    out, _ = pool(c1(x), 2)
    np.testing.assert_array_equal(out[0], [[6, 8], [16, 18]])
    out, idx = pool(c1(x), 2, ceil_mode=True)
    # the hanging windows hold only row/col 4: (0,2) max(4, 9) = 9, (2,0) max(20, 21) = 21,
    # (2,2) just x[4,4] = 24
    np.testing.assert_array_equal(out[0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])
    np.testing.assert_array_equal(idx[0], out[0])  # arange: value == flat index


@pytest.mark.parametrize("pool", AVGS)
def test_avg_pool_basic(pool) -> None:
    # 2x2 blocks of arange(16): (0+1+4+5)/4 = 2.5, (2+3+6+7)/4 = 4.5, ...
    x = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(pool(c1(x), 2)[0], [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize("pool", AVGS)
@pytest.mark.parametrize(
    ("ceil_mode", "count_include_pad", "expected"),
    [
        # row 1..6, kernel (1, 3), stride (1, 2), padding (0, 1): padded cols -1..6.
        # floor: windows start at -1, 1, 3 -> 3 outputs; ceil: also 5 -> 4 outputs
        # (ATen keeps it since 5 < 6 + 1). Windows (input cols; 'p' = padding, 'x' = beyond):
        #   [-1..1] = p, 1, 2    sum 3    divisor 3 with pad, 2 without
        #   [1..3]  = 2, 3, 4    sum 9    divisor 3
        #   [3..5]  = 4, 5, 6    sum 15   divisor 3
        #   [5..7]  = 6, p, x    sum 6    divisor 2 with pad (col 7 is past the padded input), 1
        (False, True, [1, 3, 5]),
        (False, False, [1.5, 3, 5]),
        (True, True, [1, 3, 5, 3]),
        (True, False, [1.5, 3, 5, 6]),
    ],
)
def test_avg_pool_divisors(pool, ceil_mode, count_include_pad, expected) -> None:
    x = c1([[1.0, 2, 3, 4, 5, 6]])
    out = pool(
        x,
        (1, 3),
        stride=(1, 2),
        padding=(0, 1),
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    np.testing.assert_array_equal(out[0], [expected])


@pytest.mark.parametrize("pool", AVGS)
def test_avg_pool_ceil_mode_without_padding(pool) -> None:
    # 5x5 arange, 2x2 at stride 2 with ceil_mode: hanging windows average only real cells
    # (0,0) (0+1+5+6)/4 = 3   (0,2) (4+9)/2 = 6.5   (2,0) (20+21)/2 = 20.5   (2,2) 24/1 = 24
    x = np.arange(25.0).reshape(5, 5)
    out = pool(c1(x), 2, ceil_mode=True)
    np.testing.assert_array_equal(out[0], [[3, 5, 6.5], [13, 15, 16.5], [20.5, 22.5, 24]])


@pytest.mark.parametrize("pool", AVGS)
def test_avg_pool_count_include_pad_2d(pool) -> None:
    # ones 2x2, 2x2 windows, stride 1, padding 1 -> 3x3. The corner window holds 1 real cell
    # and 3 padding cells: 1/4 with padding counted, 1/1 without; edges 2/4 vs 2/2; centre 4/4
    x = c1(np.ones((2, 2)))
    with_pad = pool(x, 2, stride=1, padding=1)
    np.testing.assert_array_equal(
        with_pad[0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]
    )
    np.testing.assert_array_equal(
        pool(x, 2, stride=1, padding=1, count_include_pad=False)[0], np.ones((3, 3))
    )


# --- errors the operations raise ------------------------------------------------


def _raises(field: str, match: str, fn, *args, **kwargs) -> None:
    with pytest.raises(ParamError, match=match) as err:
        fn(*args, **kwargs)
    assert err.value.field == field


X3 = np.ones((2, 5, 5))
W3 = np.ones((4, 2, 3, 3))


def test_conv2d_errors() -> None:
    _raises("stride", r"stride must be >= 1", conv2d, X3, W3, stride=0)
    _raises("dilation", r"dilation must be >= 1", conv2d, X3, W3, dilation=[1, 0])
    _raises("padding", r"padding must be >= 0", conv2d, X3, W3, padding=[0, -1])
    _raises(
        "kernel",
        r"^kernel \(5x5, dilation 2 -> 9x9\) is larger than the padded input \(7x7\)$",
        conv2d,
        X3,
        np.ones((1, 2, 5, 5)),
        padding=1,
        dilation=2,
    )
    _raises(
        "padding",
        r"reflect padding \(top 5\).*\(5\)",
        conv2d,
        X3,
        W3,
        padding=5,
        padding_mode="reflect",
    )
    _raises(
        "padding",
        r"circular padding \(left 6\).*\(5\)",
        conv2d,
        X3,
        W3,
        padding=[0, 0, 6, 0],
        padding_mode="circular",
    )
    _raises("padding_mode", "padding_mode must be one of", conv2d, X3, W3, padding_mode="mirror")
    # groups must divide both the input channels (2) and the filters (4)
    _raises(
        "groups",
        r"groups \(3\) must divide.*\(2\).*\(4\)",
        conv2d,
        X3,
        np.ones((4, 1, 3, 3)),
        groups=3,
    )
    _raises("groups", r"groups \(2\).*\(3\)", conv2d, X3, np.ones((3, 1, 3, 3)), groups=2)
    _raises("groups", "groups must be an int >= 1", conv2d, X3, W3, groups=0)
    # weight (O, C/groups, kh, kw): 3 input channels per filter for a 2-channel input
    _raises(
        "weight",
        r"weight has 3 input channels per filter but input has 2",
        conv2d,
        X3,
        np.ones((4, 3, 3, 3)),
    )
    _raises(
        "weight",
        r"weight has 2 input channels.*2 group",
        conv2d,
        X3,
        np.ones((4, 2, 3, 3)),
        groups=2,
    )
    _raises("weight", "4-D", conv2d, X3, np.ones((3, 3)))
    _raises("bias", "one per filter", conv2d, X3, W3, bias=[1.0, 2.0])
    _raises("input", r"\(C, H, W\) or \(N, C, H, W\)", conv2d, np.ones((5, 5)), W3)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected(bad) -> None:
    x = np.ones((1, 4, 4))
    x[0, 1, 2] = bad
    _raises("input", "finite", conv2d, x, np.ones((1, 1, 2, 2)))
    _raises("weight", "finite", conv2d, np.ones((1, 4, 4)), np.full((1, 1, 2, 2), bad))
    _raises("bias", "finite", conv2d, np.ones((1, 4, 4)), np.ones((1, 1, 2, 2)), bias=bad)
    _raises("input", "finite", conv_transpose2d, x, np.ones((1, 1, 2, 2)))
    _raises("input", "finite", max_pool2d, x, 2)
    _raises("input", "finite", avg_pool2d, x, 2)


def test_conv_transpose2d_errors() -> None:
    x = np.ones((2, 3, 3))
    _raises(
        "weight",
        r"first axis \(3\) must equal the input channels \(2\)",
        conv_transpose2d,
        x,
        np.ones((3, 1, 2, 2)),
    )
    _raises("groups", "groups", conv_transpose2d, x, np.ones((2, 1, 2, 2)), groups=3)
    _raises(
        "output_padding",
        r"smaller than either stride",
        conv_transpose2d,
        x,
        np.ones((2, 1, 2, 2)),
        stride=2,
        output_padding=2,
    )
    _raises(
        "output_padding",
        r"smaller than either stride",
        conv_transpose2d,
        x,
        np.ones((2, 1, 2, 2)),
        output_padding=1,
    )
    # allowed: smaller than the dilation though not the stride
    assert conv_transpose2d(x, np.ones((2, 1, 2, 2)), dilation=2, output_padding=1).shape == (
        1,
        6,
        6,
    )
    _raises(
        "padding",
        "crops the transposed output",
        conv_transpose2d,
        x,
        np.ones((2, 1, 1, 1)),
        padding=2,
    )


def test_pool_errors() -> None:
    x = np.ones((1, 5, 5))
    _raises("padding", "at most half the kernel size", max_pool2d, x, 3, padding=2)
    _raises("padding", "at most half the kernel size", avg_pool2d, x, (2, 4), padding=(1, 3))
    _raises("stride", "stride must be >= 1", avg_pool2d, x, 2, stride=0)
    _raises("kernel", r"kernel \(6x6\) is larger than the padded input \(5x5\)", max_pool2d, x, 6)
    # one column, taps at cols -1 and 1 (dilation 2, padding 1): nothing but padding
    _raises(
        "dilation",
        "only padding",
        max_pool2d,
        np.ones((1, 1, 1)),
        (1, 2),
        padding=(0, 1),
        dilation=2,
    )

"""app/layers.py: kernels resolved from names or numbers, channel modes, labels, traces."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from app import core
from app.config import Settings
from app.core.kernels import PRESETS, unknown_preset
from app.errors import LimitExceeded, ParamError
from app.layers import (
    apply_activation,
    apply_batch_norm,
    apply_conv,
    apply_dropout,
    apply_pool,
    channel_label,
    resolve_kernel,
    trace_region_for,
)
from app.schemas import (
    ActivationLayerParams,
    BatchNormLayerParams,
    ConvLayerParams,
    DropoutLayerParams,
    PoolLayerParams,
    TraceRegion,
)

SETTINGS = Settings()


def image(c: int = 3, h: int = 7, w: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((c, h, w), dtype=np.float32)


def conv(**params: Any) -> ConvLayerParams:
    return ConvLayerParams.model_validate(params)


def torch_conv(x: np.ndarray, weight: np.ndarray, **kwargs: Any) -> np.ndarray:
    out = F.conv2d(
        torch.from_numpy(x.astype(np.float64))[None],
        torch.from_numpy(np.asarray(weight, dtype=np.float64)),
        **kwargs,
    )
    result: np.ndarray = out[0].numpy()
    return result


# ---- resolve_kernel ------------------------------------------------------------------


def test_a_preset_name_resolves_to_one_flat_filter() -> None:
    filters = resolve_kernel("sobel_x", SETTINGS)
    assert filters.weight is None
    assert filters.names == ["sobel_x"]
    assert filters.flat is not None and filters.flat.shape == (1, 3, 3)
    np.testing.assert_array_equal(filters.flat[0], PRESETS["sobel_x"].array())


def test_a_list_of_names_resolves_to_one_filter_each_in_order() -> None:
    names = ["sobel_x", "sobel_y", "identity", "sobel_x"]
    filters = resolve_kernel(names, SETTINGS)
    assert filters.names == names
    assert filters.flat is not None and filters.flat.shape == (4, 3, 3)
    for flat, name in zip(filters.flat, names, strict=True):
        np.testing.assert_array_equal(flat, PRESETS[name].array())


def test_every_preset_resolves() -> None:
    for name, preset in PRESETS.items():
        filters = resolve_kernel(name, SETTINGS)
        assert filters.flat is not None
        np.testing.assert_array_equal(filters.flat[0], preset.array())


def test_a_2d_list_is_one_custom_flat_filter() -> None:
    filters = resolve_kernel([[1, 2], [3, 4], [5, 6]], SETTINGS)
    assert filters.weight is None and filters.names == ["custom"]
    assert filters.flat is not None
    np.testing.assert_array_equal(filters.flat, [[[1, 2], [3, 4], [5, 6]]])
    assert filters.flat.dtype == np.float64


def test_a_3d_list_is_one_literal_filter() -> None:
    kernel = np.arange(18.0).reshape(2, 3, 3)
    filters = resolve_kernel(kernel.tolist(), SETTINGS)
    assert filters.flat is None and filters.names == ["filter 0"]
    assert filters.weight is not None
    np.testing.assert_array_equal(filters.weight, kernel[None])


def test_a_4d_list_is_a_literal_weight_with_one_name_per_filter() -> None:
    kernel = np.arange(2 * 3 * 2 * 2.0).reshape(2, 3, 2, 2)
    filters = resolve_kernel(kernel.tolist(), SETTINGS)
    assert filters.flat is None
    assert filters.names == ["filter 0", "filter 1"]
    assert filters.weight is not None
    np.testing.assert_array_equal(filters.weight, kernel)


def test_presets_of_mixed_sizes_are_an_error_naming_each() -> None:
    with pytest.raises(ParamError) as info:
        resolve_kernel(["sobel_x", "gaussian_blur_5x5"], SETTINGS)
    assert info.value.field == "kernel"
    assert "sobel_x 3x3" in info.value.message
    assert "gaussian_blur_5x5 5x5" in info.value.message


@pytest.mark.parametrize("kernel", ["sobel", ["identity", "Sobel_X"], "SOBEL_X"])
def test_unknown_presets_are_an_error(kernel: Any) -> None:
    with pytest.raises(ParamError) as info:
        resolve_kernel(kernel, SETTINGS)
    assert info.value.field == "kernel"
    name = kernel if isinstance(kernel, str) else kernel[1]
    assert info.value.message == unknown_preset(name)
    assert info.value.message.startswith(f"{name!r} is not a preset kernel; known presets: ")
    assert "sobel_x" in info.value.message  # the known ones are listed


def test_a_ragged_kernel_is_an_error() -> None:
    with pytest.raises(ParamError) as info:
        resolve_kernel([[1, 2], [3]], SETTINGS)
    assert info.value.field == "kernel"
    assert "rectangular" in info.value.message


def test_a_kernel_over_the_side_limit_is_an_error() -> None:
    settings = Settings(max_kernel_side=4)
    assert resolve_kernel([[1.0] * 4] * 4, settings).flat is not None
    with pytest.raises(LimitExceeded) as info:
        resolve_kernel([[1.0] * 5] * 2, settings)
    assert info.value.detail == (
        "kernel: side (5) is over the limit of 4 (set CONVSCOPE_MAX_KERNEL_SIDE to change it)"
    )


# ---- apply_conv: channel modes --------------------------------------------------------


def test_depthwise_output_is_filter_major_with_channel_labels() -> None:
    x = image()
    result = apply_conv(x, conv(kernel=["sobel_x", "sobel_y"], padding=1), SETTINGS)
    assert result.output.shape == (6, 7, 8)
    assert result.output.dtype == np.float32
    assert result.labels == [
        "sobel_x · R",
        "sobel_x · G",
        "sobel_x · B",
        "sobel_y · R",
        "sobel_y · G",
        "sobel_y · B",
    ]
    for f, name in enumerate(["sobel_x", "sobel_y"]):
        for c in range(3):
            expected = torch_conv(x[c : c + 1], PRESETS[name].array()[None, None], padding=1)
            np.testing.assert_allclose(result.output[3 * f + c], expected[0], atol=1e-5)


def test_depthwise_on_gray_labels_are_the_filter_names() -> None:
    result = apply_conv(image(c=1), conv(kernel=["sobel_x", "box_blur"]), SETTINGS)
    assert result.output.shape == (2, 5, 6)
    assert result.labels == ["sobel_x", "box_blur"]


def test_depthwise_on_other_channel_counts_labels_channels_by_number() -> None:
    result = apply_conv(image(c=2), conv(kernel="identity", padding=1), SETTINGS)
    assert result.labels == ["identity · ch 0", "identity · ch 1"]
    np.testing.assert_array_equal(result.output, image(c=2))


def test_sum_mode_spans_the_channels_one_map_per_filter() -> None:
    x = image()
    result = apply_conv(
        x, conv(kernel=["sobel_x", "emboss"], channel_mode="sum", stride=2), SETTINGS
    )
    assert result.output.shape == (2, 3, 3)
    assert result.labels == ["sobel_x", "emboss"]
    weight = np.stack(
        [np.repeat(PRESETS[n].array()[None], 3, axis=0) for n in ("sobel_x", "emboss")]
    )
    np.testing.assert_allclose(result.output, torch_conv(x, weight, stride=2), atol=1e-5)


def test_a_custom_2d_kernel_follows_channel_mode() -> None:
    x = image()
    kernel = [[0.5, -1.0], [2.0, 0.25]]
    depthwise = apply_conv(x, conv(kernel=kernel), SETTINGS)
    summed = apply_conv(x, conv(kernel=kernel, channel_mode="sum"), SETTINGS)
    assert depthwise.labels == ["custom · R", "custom · G", "custom · B"]
    assert summed.labels == ["custom"]
    np.testing.assert_allclose(summed.output[0], depthwise.output.sum(axis=0), atol=1e-5)


def test_a_literal_weight_ignores_channel_mode_and_honours_groups() -> None:
    x = image(c=4)
    weight = np.random.default_rng(2).normal(size=(6, 2, 3, 3))
    for mode in ("depthwise", "sum"):
        result = apply_conv(
            x, conv(kernel=weight.tolist(), groups=2, channel_mode=mode, bias=0.5), SETTINGS
        )
        assert result.labels == [f"filter {i}" for i in range(6)]
        expected = torch_conv(x, weight, groups=2, bias=torch.full((6,), 0.5, dtype=torch.float64))
        np.testing.assert_allclose(result.output, expected, atol=1e-5)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padding_modes_match_torch(mode: str) -> None:
    x = image(c=1, h=6, w=6)
    result = apply_conv(x, conv(kernel="emboss", padding=2, padding_mode=mode), SETTINGS)
    torch_mode = {"zeros": "constant"}.get(mode, mode)
    padded = F.pad(torch.from_numpy(x.astype(np.float64))[None], (2, 2, 2, 2), mode=torch_mode)
    expected = F.conv2d(padded, torch.from_numpy(PRESETS["emboss"].array()[None, None]))[0]
    np.testing.assert_allclose(result.output, expected.numpy(), atol=1e-5)


# ---- bias ----------------------------------------------------------------------------


def test_bias_is_per_filter_in_depthwise_mode() -> None:
    x = image()
    plain = apply_conv(x, conv(kernel=["sobel_x", "sobel_y"]), SETTINGS)
    biased = apply_conv(x, conv(kernel=["sobel_x", "sobel_y"], bias=[1.5, -2.0]), SETTINGS)
    diff = biased.output - plain.output
    np.testing.assert_allclose(diff[:3], 1.5, atol=1e-5)
    np.testing.assert_allclose(diff[3:], -2.0, atol=1e-5)


def test_bias_is_per_filter_in_sum_mode() -> None:
    x = image()
    params = {"kernel": ["sobel_x", "sobel_y"], "channel_mode": "sum"}
    plain = apply_conv(x, conv(**params), SETTINGS)
    biased = apply_conv(x, conv(**params, bias=[0.25, 3.0]), SETTINGS)
    diff = biased.output - plain.output
    np.testing.assert_allclose(diff[0], 0.25, atol=1e-5)
    np.testing.assert_allclose(diff[1], 3.0, atol=1e-5)


def test_a_scalar_bias_applies_to_every_filter() -> None:
    x = image()
    plain = apply_conv(x, conv(kernel=["sobel_x", "sobel_y"]), SETTINGS)
    biased = apply_conv(x, conv(kernel=["sobel_x", "sobel_y"], bias=0.75), SETTINGS)
    np.testing.assert_allclose(biased.output - plain.output, 0.75, atol=1e-5)


def test_a_bias_of_the_wrong_length_is_an_error() -> None:
    with pytest.raises(ParamError) as info:
        apply_conv(image(), conv(kernel=["sobel_x", "sobel_y"], bias=[1.0, 2.0, 3.0]), SETTINGS)
    assert info.value.field == "bias"
    assert "2" in info.value.message and "3" in info.value.message


# ---- traces --------------------------------------------------------------------------


def test_trace_out_indices_are_offset_per_filter_in_depthwise_mode() -> None:
    x = image()
    region = TraceRegion(rows=[1, 2], cols=[2, 4])
    result = apply_conv(x, conv(kernel=["sobel_x", "sobel_y"]), SETTINGS, region)
    steps = result.extras["steps"]
    assert len(steps) == 6 * 1 * 2
    assert sorted({s["out"][0] for s in steps}) == [0, 1, 2, 3, 4, 5]
    for step in steps:
        o, i, j = step["out"]
        assert (i, j) in {(1, 2), (1, 3)}
        assert step["sum"] == pytest.approx(float(result.output[o, i, j]), abs=1e-5)
        # Each step's window is one channel: the filter's channel c = o % 3.
        window = np.asarray(step["window"])
        assert window.shape == (1, 3, 3)
        np.testing.assert_allclose(window[0], x[o % 3, i : i + 3, j : j + 3], atol=1e-7)


def test_trace_out_indices_are_offset_per_filter_in_sum_mode() -> None:
    x = image()
    region = TraceRegion(rows=[0, 2], cols=[0, 1])
    params = conv(kernel=["sobel_x", "sobel_y", "outline"], channel_mode="sum", bias=[1, 2, 3])
    result = apply_conv(x, params, SETTINGS, region)
    steps = result.extras["steps"]
    assert [s["out"] for s in steps] == [[f, i, 0] for f in range(3) for i in range(2)]
    for step in steps:
        o, i, j = step["out"]
        assert np.asarray(step["window"]).shape == (3, 3, 3)
        assert step["bias"] == o + 1
        assert step["sum"] == pytest.approx(float(result.output[o, i, j]), abs=1e-5)


def test_no_trace_region_means_no_steps() -> None:
    assert "steps" not in apply_conv(image(), conv(kernel="identity"), SETTINGS).extras


def test_trace_region_for_checks_the_output_and_the_limit() -> None:
    geo = core.conv_geometry((10, 10), (3, 3), stride=1, padding=0, dilation=1)
    assert trace_region_for(None, geo, 3, 9, SETTINGS) is None
    region = trace_region_for(TraceRegion(rows=[0, 8], cols=[2, 5]), geo, 3, 9, SETTINGS)
    assert region == ((0, 8), (2, 5))
    with pytest.raises(ParamError) as outside:
        trace_region_for(TraceRegion(rows=[0, 9], cols=[0, 1]), geo, 3, 9, SETTINGS)
    assert outside.value.field == "trace_region"
    small = Settings(max_trace_steps=20)
    assert trace_region_for(TraceRegion(rows=[0, 2], cols=[0, 5]), geo, 2, 9, small) is not None
    with pytest.raises(LimitExceeded) as over:
        trace_region_for(TraceRegion(rows=[0, 2], cols=[0, 5]), geo, 3, 9, small)
    assert over.value.detail == (
        "trace_region: trace steps (30) is over the limit of 20 "
        "(set CONVSCOPE_MAX_TRACE_STEPS to change it)"
    )


def test_a_trace_over_the_limit_counts_every_output_channel() -> None:
    small = Settings(max_trace_steps=10)
    region = TraceRegion(rows=[0, 2], cols=[0, 2])  # 4 cells
    apply_conv(image(c=1), conv(kernel=["sobel_x", "sobel_y"]), small, region)  # 8 steps
    with pytest.raises(LimitExceeded, match=r"trace steps \(12\)"):
        apply_conv(image(), conv(kernel="sobel_x"), small, region)  # 12 steps


# ---- pool, activation, batch norm, dropout ------------------------------------------


@pytest.mark.parametrize("c", [1, 3])
def test_pool_labels_and_values(c: int) -> None:
    x = image(c=c, h=8, w=9)
    result = apply_pool(x, PoolLayerParams(kernel_size=2), SETTINGS)
    expected = F.max_pool2d(torch.from_numpy(x)[None], 2)[0].numpy()
    np.testing.assert_array_equal(result.output, expected)
    if c == 3:
        assert result.labels == ["max pool R", "max pool G", "max pool B"]
    else:
        assert result.labels == ["max pool"]
    assert result.geometry is not None and result.geometry.output == (4, 4)


def test_avg_pool_trace_and_values() -> None:
    x = image(c=3, h=6, w=6)
    region = TraceRegion(rows=[0, 1], cols=[0, 2])
    params = PoolLayerParams(
        mode="avg", kernel_size=3, stride=2, padding=1, count_include_pad=False
    )
    result = apply_pool(x, params, SETTINGS, region)
    expected = F.avg_pool2d(
        torch.from_numpy(x)[None], 3, stride=2, padding=1, count_include_pad=False
    )[0].numpy()
    np.testing.assert_allclose(result.output, expected, atol=1e-6)
    steps = result.extras["steps"]
    assert len(steps) == 3 * 2
    for step in steps:
        ch, i, j = step["out"]
        assert step["value"] == pytest.approx(float(result.output[ch, i, j]), abs=1e-6)


def test_avg_pool_with_dilation_is_an_error() -> None:
    with pytest.raises(ParamError) as info:
        apply_pool(image(), PoolLayerParams(mode="avg", dilation=2), SETTINGS)
    assert info.value.field == "dilation"


def test_activation_labels_and_dtype() -> None:
    x = image() - np.float32(0.5)
    result = apply_activation(
        x, ActivationLayerParams(function="leaky_relu", negative_slope=0.1), SETTINGS
    )
    assert result.output.dtype == np.float32
    assert result.labels == ["leaky_relu R", "leaky_relu G", "leaky_relu B"]
    np.testing.assert_allclose(result.output, np.where(x > 0, x, 0.1 * x), atol=1e-7)


def test_batch_norm_statistics_and_labels() -> None:
    x = image(c=2, seed=4)
    result = apply_batch_norm(x, BatchNormLayerParams(weight=[2.0, 1.0], bias=[0.0, 1.0]), SETTINGS)
    assert result.labels == ["batch norm ch 0", "batch norm ch 1"]
    np.testing.assert_allclose(result.extras["mean"], x.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(result.extras["var"], x.var(axis=(1, 2)), rtol=1e-4)
    expected = F.batch_norm(
        torch.from_numpy(x.astype(np.float64))[None],
        None,
        None,
        weight=torch.tensor([2.0, 1.0], dtype=torch.float64),
        bias=torch.tensor([0.0, 1.0], dtype=torch.float64),
        training=True,
    )[0].numpy()
    np.testing.assert_allclose(result.output, expected, atol=1e-5)


def test_dropout_mask_and_scaling() -> None:
    x = image() + np.float32(0.1)
    result = apply_dropout(x, DropoutLayerParams(p=0.25, seed=3), SETTINGS)
    mask = np.asarray(result.extras["mask"])
    assert mask.shape == x.shape
    assert set(np.unique(mask)) <= {0, 1}
    np.testing.assert_allclose(result.output, x * mask / 0.75, rtol=1e-6)
    again = apply_dropout(x, DropoutLayerParams(p=0.25, seed=3), SETTINGS)
    np.testing.assert_array_equal(again.output, result.output)
    assert result.labels == ["dropout R", "dropout G", "dropout B"]


def test_channel_label() -> None:
    assert channel_label(0, 1) == ""
    assert [channel_label(i, 3) for i in range(3)] == ["R", "G", "B"]
    assert channel_label(4, 8) == "ch 4"

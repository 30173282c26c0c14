"""/step (issue 13): the CS231n volume (several channels, several filters), a link with four
input channels, and the transposed convolution animated step by step.

Every number read from the page is compared with torch (``conv2d``/``conv_transpose2d``)
computed here on the values the page shows in its editors; the tests wait for states
(the step counter and the step heading), never for time.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MINUS = "\u2212"


def shown_number(text: str) -> float:
    return float(text.strip().replace(MINUS, "-"))


def editor_values(page: Any, testid: str) -> np.ndarray:
    """The numbers in a matrix editor (its inputs in reading order), as rows."""
    values = page.evaluate(
        """(id) => [...document.querySelector(`[data-testid="${id}"]`).querySelectorAll("input")]
            .map((el) => Number(el.value))""",
        testid,
    )
    return np.array(values, dtype=np.float64)


def page_tensors(
    page: Any, channels: int, filters: int, shape: tuple[int, int], kshape: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """x (C, H, W) and the kernel (O, C, kh, kw) as the page's editors show them."""
    x = np.stack(
        [editor_values(page, f"input-editor-{ch}").reshape(shape) for ch in range(channels)]
    )
    if filters == 1:
        k = np.stack(
            [editor_values(page, f"kernel-editor-{ch}").reshape(kshape) for ch in range(channels)]
        )[None]
    else:
        k = np.stack(
            [
                np.stack(
                    [
                        editor_values(page, f"kernel-editor-{o}-{ch}").reshape(kshape)
                        for ch in range(channels)
                    ]
                )
                for o in range(filters)
            ]
        )
    return torch.tensor(x), torch.tensor(k)


def go_to_step(page: Any, n: int, total: int) -> None:
    page.get_by_test_id("player-scrubber").evaluate(
        f"(el) => {{ el.value = '{n}'; el.dispatchEvent(new Event('input', {{bubbles: true}})); }}"
    )
    expect(page.get_by_test_id("player-counter")).to_have_text(f"Step {n + 1} of {total}")
    expect(page.get_by_test_id("step-heading")).to_contain_text(f"Step {n + 1}:")


def test_cs231n_volume_output_equals_torch(open_page: Any) -> None:
    page, watch = open_page("/step?ex=cs231n")
    expect(page.get_by_test_id("player-counter")).to_have_text("Step 1 of 18")
    expect(page.get_by_test_id("output-caption")).to_have_text("2\u00d73\u00d73")
    expect(page.get_by_test_id("input-caption")).to_have_text(
        "3\u00d75\u00d75, padded to 3\u00d77\u00d77"
    )
    x, k = page_tensors(page, 3, 2, (5, 5), (3, 3))
    assert x.min() >= 0 and x.max() <= 2 and set(k.flatten().tolist()) <= {-1.0, 0.0, 1.0}
    bias = torch.tensor(
        [shown_number(page.get_by_test_id(t).input_value()) for t in ("bias", "bias-1")],
        dtype=torch.float64,
    )
    assert bias.tolist() == [1.0, 0.0]
    # One colour scale for the products of all three channels, stated under each grid.
    scales = [page.get_by_test_id(f"detail-products-{ch}-scale").inner_text() for ch in range(3)]
    assert len(set(scales)) == 1 and "this step's products" in scales[0], scales
    expect(page.get_by_test_id("detail-window-0-scale")).to_contain_text("the input's")
    # the bias cells' own colour scale is stated: ±max|b| = ±1
    expect(page.get_by_test_id("bias-range-data")).to_have_text("data 0 to 1")
    expect(page.get_by_test_id("bias-range-scale")).to_have_text(
        "colour scale \u00b11 (the biases b0\u2013b1)"
    )
    expected = F.conv2d(x[None], k, bias, stride=2, padding=1)[0]
    assert list(expected.shape) == [2, 3, 3]

    seen = np.full((2, 3, 3), np.nan)
    for n in range(18):
        go_to_step(page, n, 18)
        heading = page.get_by_test_id("step-heading")
        o, i, j = (int(v) for v in heading.get_attribute("data-out").split(","))
        seen[o, i, j] = shown_number(page.get_by_test_id("step-sum").inner_text())
        # the channel sums shown add up (here, in the test) with the bias to the step's sum
        sums = [
            shown_number(page.get_by_test_id(f"channel-sum-{ch}").inner_text()) for ch in range(3)
        ]
        assert sum(sums) + bias[o].item() == pytest.approx(seen[o, i, j])
    np.testing.assert_allclose(seen, expected.numpy(), atol=1e-4)
    drawn = json.loads(page.get_by_test_id("output-canvas").get_attribute("data-values"))
    np.testing.assert_allclose(np.array(drawn, dtype=np.float64), expected.numpy(), rtol=1e-12)
    watch.assert_clean()


def test_a_link_with_four_input_channels_and_one_filter(open_page: Any) -> None:
    rng = np.random.default_rng(13)
    x = np.round(rng.uniform(-1, 1, (4, 3, 4)), 3)
    k = np.round(rng.uniform(-1, 1, (4, 2, 2)), 3)
    fmt = "|".join(";".join(",".join(str(v) for v in row) for row in m) for m in x)
    kfmt = "|".join(";".join(",".join(str(v) for v in row) for row in m) for m in k)
    path = f"/step?ex=custom&x={fmt}&k={kfmt}&bias=0.25&stride=1&padding=1&dilation=1&step=5"
    page, watch = open_page(path)
    expected = F.conv2d(
        torch.tensor(x)[None],
        torch.tensor(k)[None],
        torch.tensor([0.25], dtype=torch.float64),
        padding=1,
    )[0, 0]
    total = expected.numel()
    expect(page.get_by_test_id("player-counter")).to_have_text(f"Step 6 of {total}")
    expect(page.get_by_test_id("channels")).to_have_value("4")
    expect(page.get_by_test_id("input-caption")).to_have_text(
        "4\u00d73\u00d74, padded to 4\u00d75\u00d76"
    )
    shown_x, shown_k = page_tensors(page, 4, 1, (3, 4), (2, 2))
    np.testing.assert_array_equal(shown_x.numpy(), x)
    np.testing.assert_array_equal(shown_k.numpy()[0], k)
    _, i, j = (
        int(v) for v in page.get_by_test_id("step-heading").get_attribute("data-out").split(",")
    )
    assert (i, j) == (1, 0)  # step 6 of a 4x5 output
    assert shown_number(page.get_by_test_id("step-sum").inner_text()) == pytest.approx(
        expected[i, j].item(), abs=1e-4
    )
    expect(page.get_by_test_id("step-detail")).to_contain_text("Channel 4")
    go_to_step(page, total - 1, total)
    drawn = json.loads(page.get_by_test_id("output-canvas").get_attribute("data-values"))
    np.testing.assert_allclose(np.array(drawn, dtype=np.float64)[0], expected.numpy(), rtol=1e-9)
    watch.assert_clean()


TRANSPOSED_LINKS = [
    # the worked example: 3x3 -> 6x6, stride 2, padding 1, output padding 1
    (
        "/step?ex=transposed",
        1,
        (3, 3),
        (3, 3),
        dict(stride=2, padding=1, output_padding=1, dilation=1),
        0.0,
    ),
    # two channels, dilation 2, stride 2, output padding 1, a bias
    (
        "/step?op=transposed&ex=custom&x=1,-2,0;3,1,2|0,1,-1;2,-3,1&k=1,0;-1,2|0.5,1;1,-0.5"
        "&bias=0.5&stride=2&padding=1&outpad=1&dilation=2",
        2,
        (2, 3),
        (2, 2),
        dict(stride=2, padding=1, output_padding=1, dilation=2),
        0.5,
    ),
]


@pytest.mark.parametrize(
    ("path", "channels", "shape", "kshape", "params", "bias"), TRANSPOSED_LINKS
)
def test_transposed_animation_adds_up_to_torch(
    open_page: Any,
    path: str,
    channels: int,
    shape: tuple[int, int],
    kshape: tuple[int, int],
    params: dict[str, int],
    bias: float,
) -> None:
    page, watch = open_page(path)
    total = channels * shape[0] * shape[1]
    expect(page.get_by_test_id("player-counter")).to_have_text(f"Step 1 of {total}")
    expect(page.get_by_test_id("op")).to_have_value("transposed")
    x, k = page_tensors(page, channels, 1, shape, kshape)
    weight = k[0][:, None]  # (C, 1, kh, kw): one output channel
    expected = F.conv_transpose2d(
        x[None], weight, torch.tensor([bias], dtype=torch.float64), **params
    )[0, 0]
    expect(page.get_by_test_id("output-caption")).to_contain_text(
        "\u00d7".join(str(n) for n in expected.shape)
    )
    expect(page.get_by_test_id("direct")).to_be_visible()
    expect(page.get_by_test_id("direct-explain")).to_contain_text("rotated by 180")
    # The scaled kernel is coloured on the output's scale, and says so.
    output_range, scaled_range = (page.get_by_test_id(t) for t in ("output-range", "scaled-range"))
    expect(scaled_range).to_have_attribute("data-vmax", output_range.get_attribute("data-vmax"))
    expect(page.get_by_test_id("scaled-range-scale")).to_contain_text("the output's")

    added = np.full(expected.shape, bias)
    for n in range(total):
        go_to_step(page, n, total)
        c, i, j = (
            int(v) for v in page.get_by_test_id("step-heading").get_attribute("data-in").split(",")
        )
        value = shown_number(page.get_by_test_id("step-value").inner_text())
        assert value == pytest.approx(x[c, i, j].item())
        for at, v, text in page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="contribution"]')]
                .map((li) => [li.dataset.at, Number(li.dataset.value), li.textContent])"""
        ):
            r, q = (int(t) for t in at.split(","))
            added[r, q] += v
            sign = MINUS if v < 0 else "+"
            assert text.startswith(f"({r}, {q}) {sign}") and sign + MINUS not in text
        running = np.array(
            json.loads(page.get_by_test_id("output-canvas").get_attribute("data-values"))
        )
        np.testing.assert_allclose(running[0], added, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(added, expected.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(running[0], expected.numpy(), rtol=1e-9, atol=1e-12)
    watch.assert_clean()


@pytest.mark.parametrize("path", ["/step?ex=cs231n", "/step?ex=transposed&step=4"])
@pytest.mark.parametrize("width", [1280, 375])
def test_volume_and_transposed_views_have_no_serious_accessibility_violations(
    open_page: Any, path: str, width: int
) -> None:
    from tests.browser.test_accessibility import blocking_violations

    page, watch = open_page(path, {"width": width, "height": 800})
    expect(page.get_by_test_id("step-heading")).to_be_visible()
    page.wait_for_function("!document.querySelector('[aria-busy=true]')")
    assert blocking_violations(page) == []
    watch.assert_clean()

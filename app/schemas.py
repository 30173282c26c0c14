"""Request and response models of the JSON API (see docs/api.md).

Tensors are nested lists of finite numbers; booleans, strings, NaN and
Infinity are refused by the types, ragged lists when they become arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AllowInfNan, BaseModel, ConfigDict, Field, Strict, StrictBool

from app.core.activations import ACTIVATIONS
from app.core.norm import UNSET

Number = Annotated[float, Strict(), AllowInfNan(False)]
Vector = Annotated[list[Number], Field(min_length=1)]
Matrix = Annotated[list[Vector], Field(min_length=1)]
Tensor3 = Annotated[list[Matrix], Field(min_length=1)]
Tensor4 = Annotated[list[Tensor3], Field(min_length=1)]
AnyTensor = Vector | Matrix | Tensor3 | Tensor4

# Hyperparameters past int32 mean nothing for these sizes and overflow numpy's int64 index
# arithmetic (e.g. a pooling stride of 10**20), so they are refused here.
MAX_INT = 2**31 - 1
PositiveInt = Annotated[int, Strict(), Field(ge=1, le=MAX_INT)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0, le=MAX_INT)]
PairParam = PositiveInt | Annotated[list[PositiveInt], Field(min_length=2, max_length=2)]
NonNegativePair = (
    NonNegativeInt | Annotated[list[NonNegativeInt], Field(min_length=2, max_length=2)]
)
PaddingParam = (
    NonNegativeInt
    | Annotated[list[NonNegativeInt], Field(min_length=2, max_length=4)]
    | Literal["valid", "same", "full"]
)
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]

EDGE_PATCH: list[Any] = [[0.6, 0.2, 0.6], [0.1, -0.2, -0.3], [-0.5, -0.1, -0.3]]
EDGE_KERNEL: list[Any] = [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]


class RequestModel(BaseModel):
    """Base of every request: unknown fields are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class TraceRegion(RequestModel):
    """Output rows and columns to trace, end-exclusive: ``[start, end)``."""

    rows: Annotated[list[NonNegativeInt], Field(min_length=2, max_length=2)]
    cols: Annotated[list[NonNegativeInt], Field(min_length=2, max_length=2)]


# ---- shared parts ---------------------------------------------------------------------
# Each operation's hyperparameters are written once, as the pipeline layer's params model;
# a JSON request is that model plus its tensors (and trace fields). Pydantic orders fields
# from the last base to the first, so ``class R(Traced, Params, Tensors)`` lists the
# tensors first, then the hyperparameters, then the trace fields.

PresetName = Annotated[str, Field(min_length=1, max_length=64)]
SampleName = Annotated[str, Field(min_length=1, max_length=64)]
Seed = Annotated[int, Strict(), Field(ge=0, le=2**63 - 1)]
# The activation names come from the one registry in app/core/activations.py.
if TYPE_CHECKING:
    ActivationName = str
else:
    ActivationName = Literal[tuple(ACTIVATIONS)]
PADDING_DOC = 'p, [ph, pw], [top, bottom, left, right], "valid", "same" or "full".'


class Traced(RequestModel):
    trace: StrictBool = False
    trace_region: TraceRegion | None = None


class ConvHyperparams(RequestModel):
    """What a convolution takes besides its tensors (PyTorch's names and defaults)."""

    stride: PairParam = 1
    padding: PaddingParam = Field(0, description=PADDING_DOC)
    padding_mode: PaddingMode = "zeros"
    dilation: PairParam = 1
    groups: PositiveInt = 1


class PoolLayerParams(RequestModel):
    mode: Literal["max", "avg"] = "max"
    kernel_size: PairParam = 2
    stride: PairParam | None = Field(None, description="Defaults to kernel_size.")
    padding: NonNegativePair = Field(0, description="At most half the kernel (PyTorch).")
    dilation: PairParam = Field(1, description="Max pooling only.")
    ceil_mode: StrictBool = False
    count_include_pad: StrictBool = Field(True, description="Average pooling only.")


class ActivationLayerParams(RequestModel):
    function: ActivationName = "relu"
    negative_slope: Number = Field(0.01, description="leaky_relu only.")
    alpha: Number = Field(1.0, description="elu only.")
    dim: Annotated[int, Strict()] | None = Field(0, description="softmax: 0 = across channels.")


def _unset_is(field: str, what: str) -> Any:
    """A batch norm vector's field: null stands for ``UNSET[field]`` in every channel, as
    in a fresh BatchNorm2d (served as ``unset`` in the schema for pages to show)."""
    value = UNSET[field]
    return Field(
        None,
        description=f"{what}; null: {value:g} in every channel.",
        json_schema_extra={"unset": value},
    )


class BatchNormLayerParams(RequestModel):
    weight: Vector | None = _unset_is("weight", "The scale (gamma) per channel")
    bias: Vector | None = _unset_is("bias", "The shift (beta) per channel")
    running_mean: Vector | None = _unset_is("running_mean", "The running mean per channel")
    running_var: Vector | None = _unset_is("running_var", "The running variance per channel")
    training: StrictBool = True
    momentum: Annotated[Number, Field(ge=0, le=1)] = 0.1
    eps: Annotated[Number, Field(gt=0)] = 1e-5


class DropoutLayerParams(RequestModel):
    p: Annotated[Number, Field(ge=0, le=1)] = 0.5
    seed: Seed = 0
    training: StrictBool = True


class _MapInput(RequestModel):
    input: Matrix | Tensor3 = Field(description="[H][W] (one channel) or [C][H][W].")


class _AnyInput(RequestModel):
    input: AnyTensor


# ---- JSON operations -------------------------------------------------------------------


class _ConvTensors(_MapInput):
    kernel: Matrix | Tensor3 | Tensor4 = Field(
        description="[kh][kw], [C/groups][kh][kw] (one filter) or [O][C/groups][kh][kw]."
    )
    bias: Number | Vector = Field(0.0, description="A number, or one per filter [O].")


class Conv2dRequest(Traced, ConvHyperparams, _ConvTensors):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"input": EDGE_PATCH, "kernel": EDGE_KERNEL}]},
    )


class ConvTranspose2dRequest(_MapInput):
    kernel: Matrix | Tensor4 = Field(
        description="[C][O/groups][kh][kw], or [kh][kw] when C = O = 1."
    )
    bias: Number | Vector = 0.0
    stride: PairParam = 1
    padding: NonNegativePair = 0
    output_padding: NonNegativePair = 0
    dilation: PairParam = 1
    groups: PositiveInt = 1
    trace: StrictBool = Field(
        False, description="Add one step per input cell and the equivalent direct convolution."
    )
    trace_region: TraceRegion | None = Field(
        None, description="Input rows and columns to trace (input coordinates, end-exclusive)."
    )


class Pool2dRequest(Traced, PoolLayerParams, _MapInput):
    input: Matrix | Tensor3 = Field(description="[H][W] or [C][H][W]; pooled per channel.")


class ActivationRequest(ActivationLayerParams, _AnyInput):
    dim: Annotated[int, Strict()] | None = Field(
        0, description="softmax only: the axis, or null for all elements."
    )
    derivative: StrictBool = Field(
        False, description="Also return the elementwise derivative (not for softmax)."
    )


class _BatchInput(RequestModel):
    input: Tensor3 | Tensor4 = Field(description="[C][H][W] (a batch of one) or [N][C][H][W].")


class BatchNormRequest(BatchNormLayerParams, _BatchInput):
    pass


class DropoutRequest(DropoutLayerParams, _AnyInput):
    pass


class GeometryRequest(RequestModel):
    input_size: Annotated[list[PositiveInt], Field(min_length=2, max_length=2)]
    kernel_size: PairParam
    stride: PairParam = 1
    padding: PaddingParam = 0
    dilation: PairParam = 1
    transposed: StrictBool = False
    output_padding: NonNegativePair = 0


# ---- responses -------------------------------------------------------------------------


class Formula(BaseModel):
    general: str = Field(description="The output-size rule in symbols.")
    rows: str = Field(description="The rule with this request's row numbers, ending in = size.")
    cols: str = Field(description="The rule with this request's column numbers, = size.")


class GeometryOut(BaseModel):
    input: list[int]
    padding: list[int] = Field(description="[top, bottom, left, right]")
    kernel: list[int]
    effective_kernel: list[int]
    stride: list[int]
    dilation: list[int]
    output: list[int]
    formula: Formula = Field(
        description="Replacing ⌊x⌋ by floor(x), ⌈x⌉ by ceil(x), · by * and − by - makes the "
        "left side of rows/cols evaluate to the right side."
    )


class ConvStep(BaseModel):
    out: list[int] = Field(description="[filter, row, col]")
    origin: list[int] = Field(description="The window's top-left cell, padded coordinates.")
    window: list[Any]
    products: list[Any]
    channel_sums: list[float] = Field(description="Per input channel: the sum of its products.")
    bias: float
    sum: float


class PoolStep(BaseModel):
    out: list[int] = Field(description="[channel, row, col]")
    origin: list[int]
    window: list[Any] = Field(description="[kh][kw]; null where a cell does not count.")
    value: float
    argmax: list[int] | None = Field(None, description="Max only: input [row, col].")
    divisor: int | None = Field(None, description="Avg only.")
    sum: float | None = None


class TensorOut(BaseModel):
    output: list[Any]
    shape: list[int]


class ActivationResponse(TensorOut):
    derivative: list[Any] | None = Field(None, description="Only when derivative was true.")


class Conv2dResponse(TensorOut):
    geometry: GeometryOut
    padded_input: list[Any] | None = None
    steps: list[ConvStep] | None = None


class TransposedStep(BaseModel):
    in_: list[int] = Field(alias="in", description="[channel, row, col] of the input cell.")
    value: float = Field(description="The input cell's value.")
    scaled: list[Any] = Field(description="[O/groups][kh][kw]: the kernel times value.")
    out_channels: list[int] = Field(description="[first, end) output channels it adds into.")
    origin: list[int] = Field(description="The window's top-left cell in the uncropped output.")
    targets: list[Any] = Field(
        description="[kh][kw] of the output [row, col] each tap adds into (outside the output "
        "when the padding crops it)."
    )
    kept: list[Any] = Field(description="[kh][kw]: true where the tap survives the crop.")
    running: list[Any] | None = Field(
        None, description="[O][H'][W']: bias + every contribution up to this step."
    )

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class DirectConv(BaseModel):
    """conv2d(input, kernel, stride=1, dilation, groups) + bias equals the output."""

    input: list[Any] = Field(
        description="[C][..][..]: zero-inserted (stride - 1 zeros) and padded."
    )
    kernel: list[Any] = Field(description="[O][C/groups][kh][kw]: the weight rotated 180 degrees.")
    padding: list[int] = Field(
        description="[top, bottom, left, right] added to the zero-inserted input; negative crops."
    )
    rows: list[int | None] = Field(description="Per row: the input row it holds, or null.")
    cols: list[int | None] = Field(description="Per column: the input column it holds, or null.")


class ConvTranspose2dResponse(TensorOut):
    geometry: GeometryOut
    uncropped_shape: list[int] | None = Field(
        None, description="[rows, cols] before the padding is cropped from each side."
    )
    steps: list[TransposedStep] | None = None
    direct: DirectConv | None = None


class Pool2dResponse(TensorOut):
    geometry: GeometryOut
    indices: list[Any] | None = Field(None, description="Max only: flat r * W + c.")
    padded_input: list[Any] | None = None
    steps: list[PoolStep] | None = None


class BatchNormResponse(TensorOut):
    mean: list[float]
    var: list[float]
    running_mean: list[float]
    running_var: list[float]


class DropoutResponse(TensorOut):
    mask: list[Any]


class GeometryResponse(BaseModel):
    geometry: GeometryOut
    shape: list[int]
    rows: list[list[int]]
    cols: list[list[int]]


class Kernel(BaseModel):
    name: str
    label: str
    description: str
    values: list[list[float]]


class ErrorMessage(BaseModel):
    detail: str


# ---- image endpoints --------------------------------------------------------------------

ImageKernel = (
    PresetName | Annotated[list[PresetName], Field(min_length=1)] | Matrix | Tensor3 | Tensor4
)


class _ImageFilters(RequestModel):
    kernel: ImageKernel = Field(
        description='A preset name ("sobel_x"), a list of names (one filter each), '
        "[kh][kw], [C/groups][kh][kw] or [O][C/groups][kh][kw]."
    )
    bias: Number | Vector = 0.0


class ConvLayerParams(ConvHyperparams, _ImageFilters):
    groups: PositiveInt = Field(1, description="For 4-D kernels only.")
    channel_mode: Literal["depthwise", "sum"] = Field(
        "depthwise",
        description="How a 2-D kernel meets several channels: per channel (an image filter) "
        "or across all of them, summed (a CNN filter).",
    )


class FlattenLayerParams(RequestModel):
    """No parameters: C x H x W -> C*H*W, channel first, then row, then column."""


class LinearLayerParams(RequestModel):
    out_features: Annotated[int, Strict(), Field(ge=1)] = Field(
        10, description="How many outputs (class scores); the weight's rows when it is given."
    )
    seed: Annotated[int, Strict(), Field(ge=0, le=2**63 - 1)] = Field(
        0,
        description="Seeds the random weight and bias when they are not given: uniform in "
        "[-1/sqrt(in_features), 1/sqrt(in_features)], PyTorch's default for nn.Linear.",
    )
    weight: Matrix | None = Field(None, description="[out_features][in_features]; random if null.")
    bias: Vector | None = Field(None, description="[out_features]; random if null.")


class SoftmaxLayerParams(RequestModel):
    """No parameters: a vector of scores -> probabilities that sum to 1."""


class ImageConv2dParams(ConvLayerParams):
    trace_region: TraceRegion | None = None


class ImagePool2dParams(PoolLayerParams):
    trace_region: TraceRegion | None = None


class CropParams(RequestModel):
    """A window of the decoded image, end-exclusive; at most 32 x 32 pixels."""

    rows: Annotated[list[NonNegativeInt], Field(min_length=2, max_length=2)]
    cols: Annotated[list[NonNegativeInt], Field(min_length=2, max_length=2)]


class PixelsResponse(BaseModel):
    pixels: list[Any] = Field(description="[C][h][w] float values in [0, 1].")
    shape: list[int]
    image_shape: list[int] = Field(description="[C, H, W] of the whole decoded image.")


class FeatureMap(BaseModel):
    data_url: str = Field(description="PNG data URL.")
    colormap: Literal["gray", "rgb", "diverging"] = Field(
        description='"gray" or "rgb" for the input image (scale 0 to 1), "diverging" for '
        "every computed map (symmetric scale); GET /api/v1/colormaps states the rule."
    )
    vmin: float = Field(description="The colour scale's start: drawn with the bar's first colour.")
    vmax: float = Field(description="The colour scale's end: drawn with the bar's last colour.")
    min: float | None = Field(description="The data's true minimum (finite values; null if none).")
    max: float | None = Field(description="The data's true maximum (finite values; null if none).")
    shape: list[int]
    label: str = ""


class ImageResponse(BaseModel):
    input: FeatureMap
    output: list[FeatureMap]
    shape: list[int]
    geometry: GeometryOut | None = None
    steps: list[ConvStep] | list[PoolStep] | None = None


class LayerResult(BaseModel):
    index: int
    type: str
    shape: list[int]
    geometry: GeometryOut | None = None
    maps: list[FeatureMap]
    masks: list[FeatureMap] | None = None
    mean: list[float] | None = Field(
        None, description="Batch norm: the mean used per channel (the batch's in training)."
    )
    var: list[float] | None = Field(
        None, description="Batch norm: the variance used per channel (biased, in training)."
    )
    running_mean: list[float] | None = Field(
        None, description="Batch norm: running_mean after this call (updated in training)."
    )
    running_var: list[float] | None = Field(
        None, description="Batch norm: running_var after this call (unbiased update in training)."
    )
    weight: list[float] | None = Field(None, description="Batch norm: the weight (gamma) applied.")
    bias: list[float] | None = Field(None, description="Batch norm: the bias (beta) applied.")
    values: list[float] | None = Field(
        None,
        description="A vector output's numbers (flatten, linear, softmax), when it has at most "
        "CONVSCOPE_MAX_LINEAR_FEATURES of them.",
    )


class PipelineResponse(BaseModel):
    input: FeatureMap
    layers: list[LayerResult]
    shape: list[int]


class Sample(BaseModel):
    name: str
    label: str
    description: str
    url: str
    width: int
    height: int


# ---- training ---------------------------------------------------------------------------


class LossRequest(RequestModel):
    function: Literal["mse", "cross_entropy"] = "mse"
    input: AnyTensor = Field(
        description="mse: predictions, any shape. cross_entropy: logits [C] or [N][C]."
    )
    target: Number | AnyTensor = Field(
        description="mse: the input's shape. cross_entropy: a class index (for [C] logits), "
        "[N] class indices, or class probabilities of the input's shape (each row >= 0, "
        "summing to 1 within 1e-6)."
    )
    reduction: Literal["mean", "sum", "none"] = "mean"
    weight: Vector | None = Field(None, description="cross_entropy only: one weight per class.")
    label_smoothing: Annotated[Number, Field(ge=0, le=1)] = Field(
        0.0, description="cross_entropy only."
    )


class LossResponse(BaseModel):
    function: str
    reduction: str
    loss: float | list[Any] = Field(
        description="PyTorch's result: a number for mean/sum, the unreduced values for none."
    )
    shape: list[int] = Field(description="The shape of loss ([] for mean/sum).")
    per_element: list[Any] | None = Field(
        None, description="mse: (input - target)^2, the input's shape."
    )
    per_sample: float | list[float] | None = Field(
        None, description="cross_entropy: the loss of each sample, [N] (a number for [C] logits)."
    )
    probabilities: list[Any] | None = Field(
        None, description="cross_entropy: softmax(input) over the classes."
    )
    log_probabilities: list[Any] | None = Field(
        None, description="cross_entropy: log_softmax(input) over the classes."
    )
    target_distribution: list[Any] | None = Field(
        None,
        description="cross_entropy: the distribution compared with (one-hot or the given "
        "probabilities, after label smoothing).",
    )


class LearnRequest(RequestModel):
    sample: SampleName | None = Field(
        "scene",
        description="A bundled sample image by name (GET /api/v1/samples), gray; "
        "null for seeded white noise (the easiest image to learn from).",
    )
    target: PresetName | Matrix = Field(
        "sobel_x", description='A preset kernel name ("sobel_x") or [kh][kw] values.'
    )
    kernel_size: PairParam | None = Field(
        None,
        description="The learned kernel's size; defaults to the target's. A larger size "
        "learns the target centred in zeros.",
    )
    steps: Annotated[int, Strict(), Field(ge=1)] = Field(
        200,
        description="Gradient steps (at most CONVSCOPE_MAX_LEARN_STEPS, default 2000); on a "
        "resume, the updates after start_step.",
    )
    optimizer: Literal["sgd", "adam"] = Field(
        "sgd",
        description="sgd: gradient descent with momentum, the step normalised by the "
        "loss's largest curvature (lr 1 = the largest safe step); adam: Adam.",
    )
    lr: Annotated[Number, Field(gt=0, le=100)] | None = Field(
        None, description="Learning rate; null for the optimizer's default (sgd 1.0, adam 0.1)."
    )
    momentum: Annotated[Number, Field(ge=0, lt=1)] = Field(0.9, description="sgd only.")
    seed: Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)] = Field(
        0,
        description="Seeds the random starting kernel (and the noise image; a resume "
        "of a noise-image run must send the same seed).",
    )
    initial_kernel: Matrix | None = Field(
        None,
        description="Resume: start from this kernel [kh][kw] (the learned kernel's shape, "
        "i.e. kernel_size or the target's) instead of the seeded random one, e.g. the "
        "`kernel` of a stopped run's last event. The optimizer's state restarts.",
    )
    initial_bias: Number = Field(
        0.0,
        description="Resume: the starting bias (a stopped run's last `bias`); with "
        "learn_bias false it stays at this value.",
    )
    start_step: NonNegativeInt = Field(
        0,
        description="Resume: the first event's step number (a stopped run's last `step`), "
        "so the resumed curve continues its numbering; runs `steps` more updates, to "
        "start_step + steps. It changes nothing else.",
    )
    every: Annotated[int, Strict(), Field(ge=1)] = Field(
        5,
        description="Send an event at every step number that is a multiple of this "
        "(plus the first and last).",
    )
    max_side: Annotated[int, Strict(), Field(ge=8)] = Field(
        64,
        description="Downscale the image so its longest side is at most this "
        "(at most CONVSCOPE_MAX_LEARN_IMAGE_SIDE, default 128).",
    )
    padding: PaddingParam = "same"
    padding_mode: PaddingMode = "zeros"
    learn_bias: StrictBool = True


Reason = Literal["finished", "time_limit", "diverged"]


class LearnEvent(BaseModel):
    """One progress event (one SSE ``data:`` line, or one entry of ``events``)."""

    step: int = Field(
        description="Updates made so far (0 = the random start; a resume starts at start_step)."
    )
    loss: float | None = Field(description="MSE of this kernel's map vs the target map.")
    losses: list[float | None] = Field(
        description="The loss of every step since the previous event, ending with this one's."
    )
    kernel: list[list[float]] = Field(description="The current kernel [kh][kw].")
    bias: float | None
    grad_norm: float | None = Field(description="|dL/d(kernel, bias)|.")
    target_kernel: list[list[float]]
    output: FeatureMap = Field(
        description="The current feature map, drawn on the target map's colour scale."
    )
    elapsed: float = Field(description="Seconds since the run started.")
    done: bool
    reason: Reason | None = Field(
        None, description="On the last event: finished, time_limit or diverged (lr too large)."
    )
    input: FeatureMap | None = Field(
        None,
        description="First event only (also of a resume): the image the kernel sees, "
        "standardised as a network's input would be: (image - input_mean) / input_std.",
    )
    input_mean: float | None = Field(None, description="First event only: the image's mean.")
    input_std: float | None = Field(
        None, description="First event only: the image's standard deviation (1 if constant)."
    )
    target_output: FeatureMap | None = Field(
        None, description="First event only: the target feature map."
    )


class LearnHistory(BaseModel):
    events: list[LearnEvent]
    losses: list[float | None] = Field(description="The loss of every step, from step 0.")
    kernel: list[list[float]] = Field(description="The final kernel.")
    target_kernel: list[list[float]]
    reason: Reason


# ---- reference endpoints ----------------------------------------------------------------


class LimitOut(BaseModel):
    value: int | float = Field(description="This server's value.")
    env: str = Field(description="The environment variable that sets it.")
    status: int | None = Field(
        description="The status a breach answers: 413 (503 for the concurrency cap; null "
        "when reaching it just ends a run)."
    )
    description: str


class LimitsResponse(BaseModel):
    limits: dict[str, LimitOut]


class LayerTypeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    type: str
    label: str
    description: str
    defaults: dict[str, Any] = Field(description="A layer of this type with default params.")
    schema_: dict[str, Any] = Field(alias="schema", description="JSON schema of its params.")


class LayersResponse(BaseModel):
    layers: list[LayerTypeOut]


class Colormap(BaseModel):
    description: str
    lut: list[Annotated[list[int], Field(min_length=3, max_length=3)]] = Field(
        description="256 [r, g, b] entries; entry i draws vmin + i / 255 * (vmax - vmin)."
    )


class ActivationInfo(BaseModel):
    name: str = Field(description="The `function` value of POST /api/v1/activation.")
    label: str
    formula: str = Field(description="f(x) in plain type.")
    derivative: str | None = Field(
        description="f'(x) in plain type; null when not elementwise (softmax)."
    )
    params: list[str] = Field(description="The request fields it reads besides `input`.")


class ActivationsResponse(BaseModel):
    activations: list[ActivationInfo]


class ColormapsResponse(BaseModel):
    rule: str = Field(description="The colour rule in plain words.")
    colormaps: dict[str, Colormap]

"""The numeric core: pure numpy functions with PyTorch names, channel-first.

``conv2d`` is a cross-correlation (the kernel is not flipped), as in PyTorch.
"""

from app.core.activations import (
    activation,
    activation_derivative,
    elu,
    gelu,
    leaky_relu,
    relu,
    sigmoid,
    softmax,
    step,
    tanh,
)
from app.core.conv import conv2d, conv_transpose2d
from app.core.geometry import (
    Geometry,
    ParamError,
    conv_geometry,
    conv_transpose_geometry,
    pool_geometry,
    receptive_fields,
    resolve_padding,
)
from app.core.grad import conv2d_backward
from app.core.kernels import PRESETS
from app.core.loss import cross_entropy, mse_loss
from app.core.norm import batch_norm, dropout
from app.core.padding import pad
from app.core.pool import avg_pool2d, max_pool2d

__all__ = [
    "PRESETS",
    "Geometry",
    "ParamError",
    "activation",
    "activation_derivative",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "conv2d_backward",
    "conv_geometry",
    "conv_transpose2d",
    "conv_transpose_geometry",
    "cross_entropy",
    "dropout",
    "elu",
    "gelu",
    "leaky_relu",
    "max_pool2d",
    "mse_loss",
    "pad",
    "pool_geometry",
    "receptive_fields",
    "relu",
    "resolve_padding",
    "sigmoid",
    "softmax",
    "step",
    "tanh",
]

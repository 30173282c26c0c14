"""ConvScope: a convolution visualizer with a PyTorch-exact REST API."""

__version__ = "0.1.0"

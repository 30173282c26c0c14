"""Facts from docs/api.md that several tests check (written from the contract, not the code)."""

# The preset kernels docs/api.md requires, by the names the API uses.
REQUIRED_PRESETS = [
    "identity",
    "box_blur",
    "gaussian_blur_3x3",
    "gaussian_blur_5x5",
    "sharpen",
    "emboss",
    "outline",
    "sobel_x",
    "sobel_y",
    "prewitt_x",
    "prewitt_y",
    "scharr_x",
    "scharr_y",
    "horizontal_edge",
]

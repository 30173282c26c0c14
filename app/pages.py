"""HTML pages rendered with Jinja2; the numbers come from the JSON API."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.config import get_settings

router = APIRouter(include_in_schema=False)

_templates = Jinja2Templates(directory=get_settings().templates_dir)


def _render(request: Request, template: str, page: str, title: str) -> HTMLResponse:
    """Render one page; ``page`` tells ``static/js/main.js`` which view to mount."""
    settings = get_settings()
    context = {
        "page": page,
        "title": title,
        "version": __version__,
        "max_kernel_side": settings.max_kernel_side,
    }
    return _templates.TemplateResponse(request, template, context)


@router.get("/", response_class=HTMLResponse)
def playground(request: Request) -> HTMLResponse:
    """Filter an image with a kernel and inspect any output pixel."""
    return _render(request, "playground.html", "playground", "Playground")


@router.get("/step", response_class=HTMLResponse)
def step(request: Request) -> HTMLResponse:
    """Play one convolution on a small grid, step by step."""
    return _render(request, "step.html", "step", "Step by step")


@router.get("/pooling", response_class=HTMLResponse)
def pooling(request: Request) -> HTMLResponse:
    """Play max and average pooling on a small grid."""
    return _render(request, "pooling.html", "pooling", "Pooling")


@router.get("/network", response_class=HTMLResponse)
def network(request: Request) -> HTMLResponse:
    """Run a stack of layers on an image and see every feature map."""
    return _render(request, "network.html", "network", "Network")


@router.get("/arithmetic", response_class=HTMLResponse)
def arithmetic(request: Request) -> HTMLResponse:
    """Convolution sizes: padding, stride, dilation, transposed."""
    return _render(request, "arithmetic.html", "arithmetic", "Conv arithmetic")


@router.get("/activations", response_class=HTMLResponse)
def activations(request: Request) -> HTMLResponse:
    """Activation functions, softmax and loss calculators."""
    return _render(request, "activations.html", "activations", "Activations and losses")


@router.get("/learn", response_class=HTMLResponse)
def learn(request: Request) -> HTMLResponse:
    """Watch gradient descent learn a kernel."""
    return _render(request, "learn.html", "learn", "Watch a kernel learn")

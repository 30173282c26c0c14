"""HTML pages rendered with Jinja2; the numbers come from the JSON API."""

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.config import Settings, get_settings

router = APIRouter(include_in_schema=False)

_templates = Jinja2Templates(directory=get_settings().templates_dir)


@dataclass(frozen=True)
class Page:
    """One entry of the navigation. ``name`` is ``templates/<name>.html`` and tells
    static/js/main.js which view to mount; ``rendered`` False means another router serves
    the path (e.g. ``/docs``) and the table only links to it. ``main`` is a CSS selector of
    the page's main figure: what lecture mode (``?lecture=1``) keeps on the first screen of a
    1024x768 projector at 150 % zoom (tests/browser/test_lecture.py checks every page)."""

    path: str
    name: str
    title: str
    nav: str
    main: str
    rendered: bool = True


# The one page table: the routes below and the navigation in templates/base.html.
PAGES = [
    Page("/", "playground", "Playground", "Playground", "[data-testid='image-panes']"),
    Page("/step", "step", "Step by step", "Step by step", "[data-testid='figures']"),
    Page("/pooling", "pooling", "Pooling", "Pooling", "[data-testid='pool-stage'] .figures"),
    Page("/network", "network", "Network", "Network", "[data-testid='columns']"),
    Page(
        "/arithmetic",
        "arithmetic",
        "Conv arithmetic",
        "Arithmetic",
        "[data-testid='arith-stage'] .figures",
    ),
    Page(
        "/activations",
        "activations",
        "Activations and losses",
        "Activations",
        "[data-testid='overlay-plot']",
    ),
    Page("/learn", "learn", "Watch a kernel learn", "Learn", "[data-testid='loss-box']"),
    Page("/classify", "classify", "Classify digits", "Classify", ".classify-input .classify-row"),
    Page("/teach", "teach", "Teach your own classes", "Teach", ".teach-add"),
    # No figure: the first panel's title and its first entry.
    Page(
        "/about",
        "about",
        "About",
        "About",
        "[data-testid='about-inspired'] .about-list > li:first-child",
    ),
    # Swagger UI: the API's title and description.
    Page("/docs", "docs", "API docs", "API docs", ".swagger-ui .information-container", False),
]


def _page(page: Page) -> Callable[[Request], HTMLResponse]:
    def render(request: Request) -> HTMLResponse:
        settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
        context = {
            "page": page.name,
            "title": page.title,
            "lecture_main": page.main,
            "nav": PAGES,
            "version": __version__,
            "max_kernel_side": settings.max_kernel_side,
        }
        return _templates.TemplateResponse(request, f"{page.name}.html", context)

    render.__name__ = page.name
    return render


for _page_entry in PAGES:
    if _page_entry.rendered:
        router.add_api_route(
            _page_entry.path, _page(_page_entry), response_class=HTMLResponse, name=_page_entry.name
        )

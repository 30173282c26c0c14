"""HTML pages rendered with Jinja2; the numbers come from the JSON API."""

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.config import Settings, get_settings

router = APIRouter(include_in_schema=False)

_templates = Jinja2Templates(directory=get_settings().templates_dir)

# (path, page, title): ``templates/<page>.html``; ``page`` tells static/js/main.js which
# view to mount.
PAGES = [
    ("/", "playground", "Playground"),
    ("/step", "step", "Step by step"),
    ("/pooling", "pooling", "Pooling"),
    ("/network", "network", "Network"),
    ("/arithmetic", "arithmetic", "Conv arithmetic"),
    ("/activations", "activations", "Activations and losses"),
    ("/learn", "learn", "Watch a kernel learn"),
    ("/classify", "classify", "Classify digits"),
    ("/teach", "teach", "Teach your own classes"),
    ("/about", "about", "About"),
]


def _page(page: str, title: str) -> Callable[[Request], HTMLResponse]:
    def render(request: Request) -> HTMLResponse:
        settings: Settings = getattr(request.app.state, "settings", None) or get_settings()
        context = {
            "page": page,
            "title": title,
            "version": __version__,
            "max_kernel_side": settings.max_kernel_side,
        }
        return _templates.TemplateResponse(request, f"{page}.html", context)

    render.__name__ = page
    return render


for _path, _name, _title in PAGES:
    router.add_api_route(_path, _page(_name, _title), response_class=HTMLResponse, name=_name)

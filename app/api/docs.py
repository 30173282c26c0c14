"""``/docs``: Swagger UI served from ``static/vendor`` (no CDN, no inline script)."""

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from app.pages import PAGES

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>ConvScope API docs</title>
  <link rel="icon" href="/static/vendor/swagger-ui/favicon-32x32.png">
  <link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
  <link rel="stylesheet" href="/static/css/docs.css">
</head>
<body>
  <header class="docs-bar">
    <nav aria-label="Back to the app">
      <a href="/" data-testid="docs-home">← ConvScope</a>
{links}
    </nav>
  </header>
  <main id="swagger-ui"></main>
  <script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/js/docs.js"></script>
</body>
</html>
"""


# The app's pages, from the one page table (the first, the playground, is "ConvScope").
_LINKS = "\n".join(
    f'      <a href="{escape(p.path)}">{escape(p.nav)}</a>' for p in PAGES[1:] if p.rendered
)
_HTML = _PAGE.replace("{links}", _LINKS)


@router.get("/docs", response_class=HTMLResponse)
def docs() -> str:
    return _HTML

"""HTML pages rendered with Jinja2; the numbers come from the JSON API."""

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

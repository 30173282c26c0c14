"""Preset kernels: ``GET /api/v1/kernels`` and ``/kernels/{name}``."""

from typing import Any

from fastapi import APIRouter, HTTPException

from app.core.kernels import PRESETS, unknown_preset
from app.schemas import ErrorMessage, Kernel

router = APIRouter(prefix="/api/v1/kernels", tags=["kernels"])


@router.get("", response_model=list[Kernel], summary="All preset kernels")
def list_kernels() -> Any:
    return [p.as_dict() for p in PRESETS.values()]


@router.get(
    "/{name}",
    response_model=Kernel,
    responses={404: {"model": ErrorMessage, "description": "No preset has this name"}},
    summary="One preset kernel",
)
def get_kernel(name: str) -> Any:
    if name not in PRESETS:
        raise HTTPException(404, f"name: {unknown_preset(name)}")
    return PRESETS[name].as_dict()

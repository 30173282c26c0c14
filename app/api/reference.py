"""What the pages ask instead of knowing: limits, layer types, activations, colormaps."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.config import SettingsDep
from app.core.activations import ACTIVATIONS
from app.layers import LAYER_TYPES
from app.limits import served
from app.render import COLOR_RULE, COLORMAP_DESCRIPTIONS, colormap_lut
from app.schemas import (
    ActivationsResponse,
    ColormapsResponse,
    LayersResponse,
    LimitsResponse,
)

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/limits", response_model=LimitsResponse, summary="Every limit and its value")
def limits(s: SettingsDep) -> Any:
    """Each limit's value on this server, its environment variable, the status a breach
    answers (413; 503 for the concurrency cap; null when reaching it just ends a run) and
    what it bounds."""
    return {"limits": served(s)}


@router.get("/layers", response_model=LayersResponse, summary="The pipeline's layer types")
def layers() -> Any:
    """Every layer type ``/images/pipeline`` accepts: label, description, default
    parameters and the JSON schema of its parameters."""
    return {
        "layers": [
            {
                "type": t.name,
                "label": t.label,
                "description": t.description,
                "defaults": t.default_params(),
                "schema": t.params.model_json_schema(),
            }
            for t in LAYER_TYPES.values()
        ]
    }


@router.get("/activations", response_model=ActivationsResponse, summary="The activation functions")
def activations() -> Any:
    """Every ``function`` POST /activation accepts, with its formula, its derivative's
    formula (null for softmax, which is not elementwise) and the parameters it reads."""
    return {
        "activations": [
            {
                "name": a.name,
                "label": a.label,
                "formula": a.formula,
                "derivative": a.derivative_formula if a.derivative else None,
                "params": list(a.params),
            }
            for a in ACTIVATIONS.values()
        ]
    }


@router.get("/colormaps", response_model=ColormapsResponse, summary="The colour rule")
def colormaps() -> Any:
    """The colour rule every map follows, and each colormap's 256-entry lookup table."""
    return {
        "rule": COLOR_RULE,
        "colormaps": {
            name: {"description": text, "lut": colormap_lut(name).tolist()}  # type: ignore[arg-type]
            for name, text in COLORMAP_DESCRIPTIONS.items()
        },
    }

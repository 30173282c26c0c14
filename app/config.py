"""Every limit and path in one place, read from ``CONVSCOPE_*`` environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Limits that bound the work of one request. The README lists them."""

    model_config = SettingsConfigDict(env_prefix="CONVSCOPE_", frozen=True)

    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1, description="Largest JSON body.")
    max_upload_bytes: int = Field(
        16 * 1024 * 1024, ge=1, description="Largest multipart body (the image upload)."
    )
    max_tensor_elements: int = Field(
        1_048_576, ge=1, description="Most numbers in one JSON tensor (input or output)."
    )
    max_kernel_side: int = Field(64, ge=1, description="Longest kernel side, in cells.")
    max_side: int = Field(4096, ge=1, description="Longest side of any tensor's spatial axes.")
    max_channels: int = Field(256, ge=1, description="Most channels or filters in one tensor.")
    max_work: int = Field(
        2_000_000_000,
        ge=1,
        description="Most multiply-adds one operation may cost (output cells x window cells).",
    )
    max_trace_steps: int = Field(
        4096, ge=1, description="Most steps in one trace; larger traces need trace_region."
    )
    max_trace_values: int = Field(
        1_000_000, ge=1, description="Most numbers (window + products) in one trace."
    )
    max_image_pixels: int = Field(
        40_000_000, ge=1, description="Most pixels an uploaded image may declare (bomb guard)."
    )
    default_max_side: int = Field(512, ge=1, description="Default downscale for uploads.")
    max_image_side: int = Field(2048, ge=1, description="Largest max_side a request may ask for.")
    max_feature_elements: int = Field(
        33_554_432, ge=1, description="Most values in one image feature tensor (C x H x W)."
    )
    max_pipeline_layers: int = Field(16, ge=1, description="Most layers in images/pipeline.")
    max_learn_steps: int = Field(
        2000, ge=1, description="Most gradient steps one /api/v1/learn run may ask for."
    )
    max_learn_seconds: float = Field(
        20.0, gt=0, description="Wall-clock seconds after which a learn run stops."
    )
    max_body_seconds: float = Field(
        30.0,
        gt=0,
        description="Seconds a client may take to send a whole request body; past it, 408.",
    )
    max_concurrent: int = Field(
        32, ge=1, description="Most API computations in progress per worker; past it, 503."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed by CORS, as a JSON list; CORS is off when empty.",
    )
    static_dir: Path = ROOT / "static"
    templates_dir: Path = ROOT / "templates"


@lru_cache
def get_settings() -> Settings:
    """The settings from the environment, read once per process."""
    return Settings()


def app_settings(request: Request) -> Settings:
    """FastAPI dependency: the settings the serving app was created with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]

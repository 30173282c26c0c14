"""Settings read from ``CONVSCOPE_*`` environment variables; the limits come from app.limits."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.limits import limit_field

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Limits that bound the work of one request (defaults and descriptions from
    ``app.limits.LIMITS``), plus the paths and CORS origins."""

    model_config = SettingsConfigDict(env_prefix="CONVSCOPE_", frozen=True)

    max_body_bytes: int = limit_field("max_body_bytes")
    max_upload_bytes: int = limit_field("max_upload_bytes")
    max_tensor_elements: int = limit_field("max_tensor_elements")
    max_kernel_side: int = limit_field("max_kernel_side")
    max_side: int = limit_field("max_side")
    max_channels: int = limit_field("max_channels")
    max_work: int = limit_field("max_work")
    max_trace_steps: int = limit_field("max_trace_steps")
    max_trace_values: int = limit_field("max_trace_values")
    max_image_pixels: int = limit_field("max_image_pixels")
    max_image_side: int = limit_field("max_image_side")
    max_crop_side: int = limit_field("max_crop_side")
    max_feature_elements: int = limit_field("max_feature_elements")
    max_pipeline_layers: int = limit_field("max_pipeline_layers")
    max_linear_features: int = limit_field("max_linear_features")
    max_linear_weights: int = limit_field("max_linear_weights")
    max_learn_steps: int = limit_field("max_learn_steps")
    max_learn_kernel_side: int = limit_field("max_learn_kernel_side")
    max_learn_image_side: int = limit_field("max_learn_image_side")
    max_learn_seconds: float = limit_field("max_learn_seconds")
    max_body_seconds: float = limit_field("max_body_seconds")
    max_train_examples: int = limit_field("max_train_examples")
    max_train_epochs: int = limit_field("max_train_epochs")
    max_train_width: int = limit_field("max_train_width")
    max_train_seconds: float = limit_field("max_train_seconds")
    max_concurrent: int = limit_field("max_concurrent")
    default_max_side: int = Field(512, ge=1, description="Default downscale for uploads.")
    max_model_samples: int = limit_field("max_model_samples")
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

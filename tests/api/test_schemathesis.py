"""Property-based fuzzing of every operation in the OpenAPI document.

``call_and_validate`` fails on any 5xx, on a status code the operation does not
declare, and on a body that does not match the declared schema for its status.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from app.config import get_settings
from app.main import create_app
from app.models import teach

TRAIN = "/api/v1/models/train"
# Tiny training limits: any fuzzed /models/train call ends after one short step.
TINY_TRAIN = {
    "CONVSCOPE_MAX_TRAIN_EPOCHS": "2",
    "CONVSCOPE_MAX_TRAIN_SECONDS": "0.05",
    "CONVSCOPE_MAX_TRAIN_EXAMPLES": "24",
}


def _fuzz_app(env: dict[str, str]) -> Any:
    """The app built with these settings (read once, at creation); the environment and
    the settings cache restored afterwards."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        return create_app()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


# Short learning runs, so fuzzing /learn stays quick.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", _fuzz_app({"CONVSCOPE_MAX_LEARN_SECONDS": "0.3"})
)
train_schema = schemathesis.openapi.from_asgi("/openapi.json", _fuzz_app(TINY_TRAIN)).include(
    path=TRAIN
)

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@schema.exclude(path=TRAIN).parametrize()
@FUZZ
def test_api_conforms_to_schema(case: schemathesis.Case) -> None:
    # A schema-valid request may still be a 422: groups must divide the channels, the
    # kernel must fit the padded input, etc. JSON Schema cannot say that, so the
    # "schema-valid data is accepted" check is off; every other check stays on.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


@pytest.fixture(scope="module")
def few_digits() -> Iterator[None]:
    """``dataset: "digits"`` as its first 64 training and 32 held-out digits: the size of
    the digits is no limit, and the fuzzing checks the answers' shapes and statuses, not
    the accuracy (tests/api/test_teach.py trains on all of them)."""
    whole = teach.digits_dataset()

    def few() -> teach.Dataset:
        return teach.Dataset(
            whole.classes,
            whole.train_images[:64],
            whole.train_labels[:64],
            whole.test_images[:32],
            whole.test_labels[:32],
        )

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(teach, "digits_dataset", few)
        yield


def _names_a_field(body: Any) -> bool:
    """A 4xx body names the field it is about: every 422 ``msg`` and every plain
    ``detail`` starts with "<field>: " (or "<field>[...]: ")."""
    detail = body.get("detail") if isinstance(body, dict) else None
    messages = [d.get("msg", "") for d in detail] if isinstance(detail, list) else [detail]
    return bool(messages) and all(
        isinstance(m, str) and m.split(": ", 1)[0].strip() and ": " in m for m in messages
    )


@train_schema.parametrize()
@FUZZ
def test_train_conforms_to_schema(case: schemathesis.Case, few_digits: None) -> None:
    """Every fuzzed training run, answered as JSON: a 2xx, or a 4xx about the body that
    names a field; never a 5xx (call_and_validate fails on those). Schemathesis also
    sends other methods (405), which have no field to name."""
    case.query = {**(case.query or {}), "format": "json"}
    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500
    if response.status_code in (400, 413, 422):
        assert _names_a_field(response.json()), response.text

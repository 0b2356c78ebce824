"""Operator overrides of settings at run time, validated by the very field definitions of
``Settings`` (type, range), strictly: ``true`` is not 1.0 and a string is not a number.

The ops API validates a write with ``validate_override`` and stores the value as JSON in the
hash ``<ns>:overrides``; a worker reads it back with ``parse_override``, which applies the same
definition, so a value the API would refuse (written by hand, or by an older version) is ignored
instead of reaching the curator.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from services.errors import Refused
from services.settings import Settings

WRITABLE = frozenset({"near_dup_threshold"})


class OverrideRefused(Refused):
    """The value does not satisfy the setting's definition; the message says how (no value)."""


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    field = Settings.model_fields[name]
    hint: Any = Annotated[field.annotation, field]  # the type with the field's constraints
    return TypeAdapter(hint)


def _reason(name: str, exc: ValidationError) -> str:
    return f"{name}: " + "; ".join(err["msg"] for err in exc.errors(include_url=False))


def validate_override(name: str, value: Any) -> Any:
    """``value`` (from a JSON body) as the setting ``name`` accepts it, or ``OverrideRefused``."""
    if name not in WRITABLE:
        raise OverrideRefused(f"{name} cannot be overridden")
    try:
        return _adapter(name).validate_python(value, strict=True)
    except ValidationError as exc:
        raise OverrideRefused(_reason(name, exc)) from None


def dump_override(value: Any) -> str:
    """What goes into the Redis hash (JSON text)."""
    return json.dumps(value)


def parse_override(name: str, raw: bytes | str | None) -> Any | None:
    """The override of ``name`` read from Redis, or ``None`` when absent or invalid (then the
    configured setting applies)."""
    if raw is None or name not in WRITABLE:
        return None
    try:
        return _adapter(name).validate_json(raw, strict=True)
    except ValidationError:
        return None

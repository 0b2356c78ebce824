"""Loading the settings from the environment, with errors an operator can act on: one line per
problem naming the variable, its value and the expected form (docs/operations.md,
"Command-line errors"), and a warning for unknown ``FLYWHEEL_*`` variables."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from services.errors import ConfigError
from services.settings import Settings

_PREFIX = "FLYWHEEL_"


class SettingsError(ConfigError):
    """Settings could not be loaded; the message has one line per problem, naming the variable,
    its value (hidden for secrets) and the expected form."""


def load_settings(**overrides: object) -> Settings:
    """``Settings(**overrides)`` from the environment, with pydantic's multi-line report (and
    pydantic-settings' "error parsing value" without the field's form) turned into
    ``SettingsError`` lines such as ``FLYWHEEL_NEAR_DUP_THRESHOLD=2: expected a number >= 0.5
    and <= 1``. The command line, the worker and the ops server load settings through it."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError as SourceError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = [_problem(err, overrides) for err in exc.errors()]
    except SourceError as exc:  # a list or dict variable that is not JSON
        lines = _undecodable() or [f"settings: {exc}"]
    raise SettingsError("\n".join(lines)) from None


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``FLYWHEEL_*`` variable that is no setting (a typo is ignored silently
    otherwise), with the closest setting name when there is one."""
    import difflib

    names = [name.upper() for name in Settings.model_fields]
    warnings = []
    for var in sorted(os.environ if environ is None else environ):
        upper = var.upper()
        if not upper.startswith(_PREFIX) or upper.removeprefix(_PREFIX) in names:
            continue  # compare without the prefix, which every name shares
        close = difflib.get_close_matches(upper.removeprefix(_PREFIX), names, n=1, cutoff=0.8)
        hint = f"; did you mean {_PREFIX}{close[0]}?" if close else ""
        warnings.append(f"warning: {var} is not a Flywheel setting, ignored{hint}")
    return warnings


def _env_value(name: str) -> str | None:
    var = _PREFIX + name.upper()  # pydantic-settings matches names case-insensitively
    return next((v for k, v in os.environ.items() if k.upper() == var), None)


def _shown(name: str, raw: object) -> str:
    field = Settings.model_fields.get(name)
    if field is not None and field.annotation is SecretStr:
        return "<hidden>"
    text = raw if isinstance(raw, str) else json.dumps(raw, default=str)
    return text if len(text) <= 60 and text.isprintable() else repr(text[:60]) + "..."


def _problem(err: Any, overrides: Mapping[str, object]) -> str:
    loc = err.get("loc") or ()
    name = str(loc[0]) if loc else ""
    if name not in Settings.model_fields:  # a rule across settings (a model validator)
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        given = [
            f"{_PREFIX}{n.upper()}={_shown(n, overrides[n] if n in overrides else _env_value(n))}"
            for n in Settings.model_fields
            if re.search(rf"\b{n}\b", msg) and (n in overrides or _env_value(n) is not None)
        ]
        return (", ".join(given) or "settings") + ": " + msg
    raw = overrides[name] if name in overrides else _env_value(name)
    value = _shown(name, err.get("input") if raw is None else raw)
    return f"{_PREFIX}{name.upper()}={value}: expected {_expected(name)}"


def _expected(name: str) -> str:
    """The form of a setting in words, from its type and bounds: "a number > 0 and <= 1"; a
    list or dict with an example of its JSON."""
    field = Settings.model_fields[name]
    form = value_form(field)
    origin = get_origin(field.annotation)
    if origin in (list, dict):  # no bounds, never null: the example ends the form
        example = json.dumps(field.get_default(call_default_factory=True))
        if example in ("[]", "{}"):
            example = '["a", "b"]' if origin is list else '{"key": 1.5}'
        form += f", e.g. {example}"
    return form


def value_form(field: FieldInfo) -> str:
    """The form of a field's value in words, from its type and bounds: "a number > 0 and <= 1",
    "one of debug, info", "a JSON list"; "or null" when it may be null."""
    annotation, optional = field.annotation, False
    args = get_args(annotation)
    if type(None) in args:
        optional = True
        annotation = next(a for a in args if a is not type(None))
    origin = get_origin(annotation)
    if origin is Literal:
        form = "one of " + ", ".join(str(a) for a in get_args(annotation))
    elif origin in (list, dict):
        form = f"a JSON {'list' if origin is list else 'object'}"
    else:
        form = {bool: "true or false", int: "an integer", float: "a number"}.get(
            annotation,  # type: ignore[arg-type]
            "a path" if annotation is Path else "text",
        )
    bounds = [
        f"{symbol} {getattr(m, attr)}"
        for m in field.metadata
        for attr, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
        if getattr(m, attr, None) is not None
    ]
    form += (" " + " and ".join(bounds)) if bounds else ""
    return form + (" or null" if optional else "")


def _undecodable() -> list[str]:
    """The list and dict settings whose variable is not JSON (pydantic-settings decodes them
    before validating and names no form)."""
    lines = []
    for name, field in Settings.model_fields.items():
        raw = _env_value(name)
        if raw is None or get_origin(field.annotation) not in (list, dict):
            continue
        try:
            json.loads(raw)
        except ValueError:
            lines.append(f"{_PREFIX}{name.upper()}={_shown(name, raw)}: expected {_expected(name)}")
    return lines

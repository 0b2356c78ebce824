"""docs/settings.md, generated from the settings classes: one table per room (environment
variable, form, default, meaning) and the defaults an embedding backend changes.

    python -m services.settings.reference            # rewrite docs/settings.md
    python -m services.settings.reference --check    # exit 1 when docs/settings.md is stale

tests/unit/test_settings.py fails when the file in the tree is not what ``render()`` returns.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from services.settings import BACKEND_DEFAULTS, ROOMS
from services.settings.load import value_form

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "settings.md"

_HEAD = """# Settings reference

Generated from `services/settings/` by `python -m services.settings.reference`: edit the field
there, then run the command; tests/unit/test_settings.py fails while this file is stale.

Every setting is read from its environment variable (`FLYWHEEL_` and the field name in capitals);
lists and objects are JSON (`FLYWHEEL_LANG_ALLOW='["en", "fr"]'`). A variable that is no setting
is reported at start with the closest name. The settings are grouped by the part of Flywheel that
reads them; docs/architecture.md shows those parts.
"""


def render() -> str:
    """The whole reference, as docs/settings.md holds it."""
    parts = [_HEAD]
    for room in ROOMS:
        parts.append(_room(room))
    parts.append(_backend_defaults())
    return "\n".join(parts)


def _room(room: type[BaseModel]) -> str:
    title, _, text = " ".join(inspect.cleandoc(room.__doc__ or "").split()).partition(": ")
    rows = [
        f"## {title}",
        "",
        text[:1].upper() + text[1:],
        "",
        "| Variable | Form | Default | Meaning |",
        "|---|---|---|---|",
    ]
    for name, field in room.model_fields.items():
        rows.append(
            f"| `FLYWHEEL_{name.upper()}` | {_form(field)} | {_default(field)} | "
            f"{_meaning(field)} |"
        )
    return "\n".join(rows) + "\n"


def _form(field: FieldInfo) -> str:
    form = value_form(field).removeprefix("a ").removeprefix("an ")
    return "secret " + form if field.annotation is SecretStr else form


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return _shown(value)


def _shown(value: object) -> str:
    if isinstance(value, str) and value.startswith(str(REPO)):
        value = Path(value).relative_to(REPO).as_posix()
    if isinstance(value, bool | list | dict) or value is None:
        text = json.dumps(value)
    else:
        text = str(value)
    return f"`{text}`" if text else "(empty)"


def _meaning(field: FieldInfo) -> str:
    text = (field.description or "").replace("|", "\\|")
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("deploy_required"):
        text += "; set it in every deployment"
    return text


def _backend_defaults() -> str:
    rows = [
        "## Defaults of the static and cascade backends",
        "",
        "A distilled static model's cosines are not the transformer's, so these backends change",
        "the defaults below when the setting is not given; an explicit variable always wins.",
        "docs/benchmarks.md has the measurements the values come from.",
        "",
        "| Backend | Setting | Default |",
        "|---|---|---|",
    ]
    for backend, values in BACKEND_DEFAULTS.items():
        for name, value in values.items():
            rows.append(f"| `{backend}` | `FLYWHEEL_{name.upper()}` | {_shown(value)} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/settings.md from the settings.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        stale = not DOC.exists() or DOC.read_text(encoding="utf-8") != text
        if stale:
            print(f"{DOC.relative_to(REPO)} is stale: python -m services.settings.reference")
        return int(stale)
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

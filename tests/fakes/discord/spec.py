"""Request bodies checked against Discord's official OpenAPI document."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

# --------------------------------------------------------------------------- OpenAPI checking


def default_spec_path() -> Path:
    """$DISCORD_OPENAPI_SPEC, else shared/specs/ beside the repository (as CI lays it out)."""
    env = os.environ.get("DISCORD_OPENAPI_SPEC")
    if env:
        return Path(env)
    for base in (Path(__file__).resolve().parents[4], Path("/work")):
        candidate = base / "shared" / "specs" / "discord-openapi.json"
        if candidate.exists():
            return candidate
    return Path("/work/shared/specs/discord-openapi.json")


# The spec is stricter than the live API in places where discord.py relies on the API's
# leniency; loosen exactly those so the checker flags real bugs, not discord.py's normal traffic.
SPEC_RELAXATIONS = (
    "SnowflakeType also accepts non-negative integers (Discord coerces them; discord.py sends "
    "ints in allowed_mentions, message_reference, recipient_id, attachments ids...)",
)


class OpenAPISpec:
    """Discord's OpenAPI document, loaded once; request-body validators compiled lazily and cached."""

    _URI = "urn:discord-openapi"
    _cache: dict[str, OpenAPISpec] = {}

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> OpenAPISpec:
        resolved = str(Path(path or default_spec_path()).resolve())
        if resolved not in cls._cache:
            cls._cache[resolved] = cls(resolved)
        return cls._cache[resolved]

    def __init__(self, path: str):
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        doc["components"]["schemas"]["SnowflakeType"] = {
            "anyOf": [doc["components"]["schemas"]["SnowflakeType"], {"type": "integer", "minimum": 0}]
        }
        self.doc = doc
        self.templates: list[str] = list(doc["paths"])
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self._registry = Registry().with_resource(self._URI, resource)
        self._validators: dict[tuple[str, str], Any] = {}

    def operation(self, template: str, method: str) -> dict | None:
        return self.doc["paths"].get(template, {}).get(method.lower())

    def validator(self, template: str, method: str) -> Any:
        key = (template, method.lower())
        if key not in self._validators:
            self._validators[key] = self._compile(*key)
        return self._validators[key]

    def _compile(self, template: str, method: str) -> Any:
        from jsonschema import Draft202012Validator

        op = self.operation(template, method)
        content = ((op or {}).get("requestBody") or {}).get("content") or {}
        if not content:
            return None
        ctype = "application/json" if "application/json" in content else next(iter(content))
        esc = lambda s: s.replace("~", "~0").replace("/", "~1")  # noqa: E731  (JSON pointer escaping)
        pointer = f"/paths/{esc(template)}/{method}/requestBody/content/{esc(ctype)}/schema"
        return Draft202012Validator({"$ref": f"{self._URI}#{quote(pointer, safe='/~@')}"}, registry=self._registry)

    def check(self, template: str, method: str, body: Any) -> list[tuple[str, str]]:
        """Return [(location, message)] for a request body, most relevant first; [] if valid or no schema."""
        from jsonschema.exceptions import relevance

        validator = self.validator(template, method)
        if validator is None:
            return []
        found = []
        # Not best_match(): it guesses a union variant by itself, often the wrong one for Discord's unions.
        for error in sorted(validator.iter_errors(body), key=relevance, reverse=True):
            leaf = self._explain(error)
            message = leaf.message if len(leaf.message) <= 300 else leaf.message[:297] + "..."
            found.append(("/".join(str(p) for p in leaf.absolute_path), message))
        return found

    @classmethod
    def _explain(cls, error: Any) -> Any:
        """Descend anyOf/oneOf failures into the variant the body was most likely meant to be.

        Discord's unions are discriminated by a field such as "type": a variant failing on an
        enum/const (or on being null) is an unintended one; in the intended variant the deepest
        error is the useful one. If every variant is unintended, the union error itself is.
        """
        if not error.context:
            return error
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(cls._explain(sub))
        candidates = []
        for leaves in branches.values():
            wrong_variant = any(cls._discriminating(e) for e in leaves)
            leaf = max(leaves, key=lambda e: (not cls._discriminating(e), len(e.absolute_path)))
            candidates.append((wrong_variant, -len(leaf.absolute_path), len(leaves), leaf))
        best = min(candidates, key=lambda c: c[:3])
        return error if best[0] else best[3]

    @staticmethod
    def _discriminating(error: Any) -> bool:
        return error.validator in ("enum", "const") or (error.validator == "type" and error.validator_value == "null")

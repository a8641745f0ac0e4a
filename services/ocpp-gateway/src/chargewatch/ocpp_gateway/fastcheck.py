"""A fast "is this payload valid?" check compiled from an OCPP JSON schema, in front of fastjsonschema.

fastjsonschema's generated code is built to explain a failure: it tracks the failing field's
name, copies key sets and checks every keyword defensively, which costs about 20 us for a
MeterValues of five sampled values. Almost every payload a gateway sees is valid, so each schema
also gets a second function that only answers True or False, in a few microseconds: exact type
checks, one subset test for unexpected properties, set lookups for enums, the same date-time
expression. True means the payload is valid; False means "not sure": the caller then runs
fastjsonschema's validator, which accepts the payload or raises the precise error. So the check
may be stricter than the schema (a float 2.0 for an integer, a tuple for an array: False, and
fastjsonschema decides), never more lenient.

Only the keywords the OCPP schemas use are compiled; a schema with any other validation keyword
(or a type list, a `multipleOf`, a `$ref` that leaves the document) gets no fast check, and
fastjsonschema alone validates it. The unit tests hold the fast check to fastjsonschema on random
payloads drawn from every schema of both versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

FastCheck = Callable[[Any], bool]

# Keywords that say nothing about validity (fastjsonschema is built with use_default=False).
_ANNOTATIONS: Final = frozenset({"$schema", "$id", "id", "title", "description", "comment", "javaType", "default"})
_HANDLED: Final = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "additionalItems",
        "minItems",
        "maxItems",
        "maxLength",
        "minLength",
        "enum",
        "format",
        "minimum",
        "maximum",
        "definitions",
        "$ref",
    }
)
_MAX_DEPTH: Final = 32


class Unsupported(Exception):
    """The schema uses something the fast check does not compile; fastjsonschema alone validates it."""


class _Compiler:
    def __init__(self, root: Mapping[str, Any], format_patterns: Mapping[str, str]) -> None:
        self.root = root
        self.format_patterns = format_patterns
        self.lines: list[str] = []
        # Names the generated code refers to; MISSING marks an absent property.
        self.constants: dict[str, Any] = {"MISSING": object()}
        self._names = 0

    def name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    def constant(self, prefix: str, value: Any) -> str:
        name = self.name(prefix)
        self.constants[name] = value
        return name

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def resolve(self, reference: str) -> Mapping[str, Any]:
        if not reference.startswith("#/definitions/"):
            raise Unsupported(f"$ref {reference}")
        target = self.root.get("definitions", {}).get(reference.removeprefix("#/definitions/"))
        if not isinstance(target, Mapping):
            raise Unsupported(f"$ref {reference}")
        return target

    def target(self, schema: Any, nesting: int) -> Mapping[str, Any]:
        """The schema to compile for `schema`: itself, or what its `$ref` points at."""
        if nesting > _MAX_DEPTH:
            raise Unsupported("schema nested too deep (or recursive)")
        if not isinstance(schema, Mapping):
            raise Unsupported("a schema that is not an object")
        unknown = set(schema) - _HANDLED - _ANNOTATIONS
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        reference = schema.get("$ref")
        if reference is None:
            return schema
        # fastjsonschema lets a $ref override its siblings (the OCPP schemas give it none but text).
        if set(schema) - _ANNOTATIONS - {"$ref"}:
            raise Unsupported("$ref with sibling keywords")
        return self.target(self.resolve(reference), nesting + 1)

    def node(self, schema: Any, variable: str, depth: int, nesting: int = 0) -> None:
        """Emit the checks of `schema` on `variable` at indentation `depth`; each failure returns False."""
        schema = self.target(schema, nesting)
        kind = _kind(schema)
        if kind == "object":
            self.object(schema, variable, depth, nesting)
        elif kind == "array":
            self.array(schema, variable, depth, nesting)
        else:
            self.emit(depth, f"if {self.scalar_failure(schema, kind, variable)}: return False")

    def scalar_failure(self, schema: Mapping[str, Any], kind: str, variable: str) -> str:
        """An expression that is true when `variable` breaks a string, number or boolean schema."""
        if kind == "string":
            if "enum" in schema:
                # Only a string (or a str subclass, which fastjsonschema accepts too) equals a member;
                # an unhashable value raises TypeError, which the check answers with False.
                return f"{variable} not in {self.constant('ENUM', _string_enum(schema))}"
            parts = [f"{variable}.__class__ is not str"]
            if "maxLength" in schema:
                parts.append(f"len({variable}) > {_count(schema['maxLength'])}")
            if "minLength" in schema:
                parts.append(f"len({variable}) < {_count(schema['minLength'])}")
            if "format" in schema:
                pattern = self.format_patterns.get(schema["format"])
                if pattern is None:
                    raise Unsupported(f"format {schema['format']!r}")
                parts.append(f"not {self.constant('FORMAT', re.compile(pattern).match)}({variable})")
            return " or ".join(parts)
        if "enum" in schema:
            raise Unsupported("an enum of numbers or booleans")
        if kind == "boolean":
            return f"{variable}.__class__ is not bool"
        if kind == "integer":
            parts = [f"{variable}.__class__ is not int"]
        elif kind == "number":
            parts = [f"({variable}.__class__ is not int and {variable}.__class__ is not float)"]
        else:
            raise Unsupported(f"type {kind!r}")
        for keyword, operator in (("minimum", "<"), ("maximum", ">")):
            if keyword in schema:
                bound = schema[keyword]
                if type(bound) not in (int, float):
                    raise Unsupported(f"{keyword} {bound!r}")
                parts.append(f"{variable} {operator} {bound!r}")
        return " or ".join(parts)

    def object(self, schema: Mapping[str, Any], variable: str, depth: int, nesting: int) -> None:
        self.emit(depth, f"if {variable}.__class__ is not dict: return False")
        properties: Mapping[str, Any] = schema.get("properties", {})
        required = schema.get("required", [])
        additional = schema.get("additionalProperties", True)
        if not isinstance(properties, Mapping) or not isinstance(required, list):
            raise Unsupported("malformed properties or required")
        if additional is False:
            allowed = self.constant("ALLOWED", frozenset(properties))
            self.emit(depth, f"if not {allowed}.issuperset({variable}): return False")
        elif additional not in (True, {}):
            raise Unsupported("additionalProperties with a schema")
        for key in required:
            if key not in properties:
                self.emit(depth, f"if {key!r} not in {variable}: return False")
        for key, subschema in properties.items():
            target = self.target(subschema, nesting + 1)
            kind = _kind(target)
            present = key in required
            if kind == "string" and "enum" in target:
                # One lookup: a missing required property reads as None, which no member equals; a
                # missing optional one as MISSING, which is made a member.
                members = _string_enum(target)
                if not present:
                    members |= {self.constants["MISSING"]}
                    name = self.constant("ENUM", members)
                    self.emit(depth, f"if {variable}.get({key!r}, MISSING) not in {name}: return False")
                else:
                    name = self.constant("ENUM", members)
                    self.emit(depth, f"if {variable}.get({key!r}) not in {name}: return False")
                continue
            value = self.name("v")
            self.emit(depth, f"{value} = {variable}.get({key!r}, MISSING)")
            if kind not in ("object", "array"):
                failure = self.scalar_failure(target, kind, value)
                if present:
                    self.emit(depth, f"if {value} is MISSING or {failure}: return False")
                else:
                    self.emit(depth, f"if {value} is not MISSING and ({failure}): return False")
            elif present:
                self.emit(depth, f"if {value} is MISSING: return False")
                self.node(target, value, depth, nesting + 1)
            else:
                self.emit(depth, f"if {value} is not MISSING:")
                self.node(target, value, depth + 1, nesting + 1)

    def array(self, schema: Mapping[str, Any], variable: str, depth: int, nesting: int) -> None:
        self.emit(depth, f"if {variable}.__class__ is not list: return False")
        if "minItems" in schema:
            self.emit(depth, f"if len({variable}) < {_count(schema['minItems'])}: return False")
        if "maxItems" in schema:
            self.emit(depth, f"if len({variable}) > {_count(schema['maxItems'])}: return False")
        items = schema.get("items", True)
        if items in (True, {}):
            return
        if not isinstance(items, Mapping):
            # A list of item schemas (with additionalItems) or `false`: fastjsonschema alone.
            raise Unsupported("items that is not one schema")
        item = self.name("i")
        self.emit(depth, f"for {item} in {variable}:")
        self.node(items, item, depth + 1, nesting + 1)


def _string_enum(schema: Mapping[str, Any]) -> frozenset[Any]:
    values = schema["enum"]
    if not isinstance(values, list) or not values or not all(type(v) is str for v in values):
        raise Unsupported("an enum of a string that lists other values")
    if set(schema) & {"maxLength", "minLength", "format"}:
        raise Unsupported("an enum with more rules")
    return frozenset(values)


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if kind is None:
        return _implied_type(schema)
    if not isinstance(kind, str):
        raise Unsupported(f"type {kind!r}")
    return kind


def _implied_type(schema: Mapping[str, Any]) -> str:
    """A schema without `type`: only the object form (properties...) is compiled, checked as an object."""
    if {"properties", "required", "additionalProperties"} & set(schema):
        return "object"
    raise Unsupported("a schema without a type")


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise Unsupported(f"a count of {value!r}")
    return value


def compile_fast_check(schema: Mapping[str, Any], format_patterns: Mapping[str, str]) -> FastCheck | None:
    """The fast check of `schema`, or None when it uses something not compiled here.

    `format_patterns` are the regular expressions fastjsonschema checks formats with, so a
    date-time passes here exactly when it passes there.
    """
    compiler = _Compiler(schema, format_patterns)
    try:
        compiler.node(schema, "data", 2)
    except Unsupported:
        return None
    source = "\n".join(
        [
            "def fast_check(data):",
            "    try:",
            *compiler.lines,
            "    except TypeError:",
            "        return False",
            "    return True",
            "",
        ]
    )
    namespace: dict[str, Any] = dict(compiler.constants)
    exec(compile(source, "<fast-check>", "exec"), namespace)  # noqa: S102 - code generated from the packaged schemas
    check: FastCheck = namespace["fast_check"]
    return check

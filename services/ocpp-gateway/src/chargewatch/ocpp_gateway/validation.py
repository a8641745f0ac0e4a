"""Payload validation with the OCPP JSON schemas, compiled once per action into Python code.

The `ocpp` package ships the official schemas but validates with jsonschema's interpreter, in an
executor, per message: correct, and far too slow for a gateway. fastjsonschema turns each schema
into a function once; after that a validation is a plain function call.

One change to fastjsonschema's code: an `enum` of strings (OCPP has many: units, measurands,
statuses of up to 40 values) becomes one set lookup instead of a chain of comparisons, which
halves the time MeterValues takes to validate. Everything else, error messages and rules
included, is fastjsonschema's own.

In front of it, each schema also gets a fast check (see `fastcheck`): a compiled yes/no test that
accepts a valid payload in a fraction of the time; only a payload it does not accept goes through
fastjsonschema, which accepts it or says precisely what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import resources
from importlib.abc import Traversable
from typing import Any, Final

import fastjsonschema
import orjson
from fastjsonschema.draft04 import CodeGeneratorDraft04
from fastjsonschema.draft06 import CodeGeneratorDraft06
from fastjsonschema.ref_resolver import RefResolver

from chargewatch.ocpp_gateway.fastcheck import FastCheck, compile_fast_check
from chargewatch.ocpp_gateway.protocol import ErrorKind, OcppError, OcppVersion

Validator = Callable[[Any], Any]
# An action's (fast check or None, fastjsonschema validator), as `SchemaSet.checks` gives them.
Checks = tuple[FastCheck | None, Validator]

_SCHEMA_DIRS: Final = {OcppVersion.V16: "v16", OcppVersion.V201: "v201", OcppVersion.V21: "v21"}
_UTF8_BOM: Final = b"\xef\xbb\xbf"

# fastjsonschema's failing keyword -> the CALLERROR kind. A missing required field or too many
# items is an occurrence constraint; a wrong type, an over-long string (OCPP's CiStringN types)
# or a malformed date-time a type constraint; a value outside an enum or a range a property
# constraint; an unexpected property breaks the PDU's format.
_RULE_KINDS: Final = {
    "required": ErrorKind.OCCURRENCE_CONSTRAINT,
    "minItems": ErrorKind.OCCURRENCE_CONSTRAINT,
    "maxItems": ErrorKind.OCCURRENCE_CONSTRAINT,
    "minProperties": ErrorKind.OCCURRENCE_CONSTRAINT,
    "maxProperties": ErrorKind.OCCURRENCE_CONSTRAINT,
    "dependencies": ErrorKind.OCCURRENCE_CONSTRAINT,
    "type": ErrorKind.TYPE_CONSTRAINT,
    "maxLength": ErrorKind.TYPE_CONSTRAINT,
    "minLength": ErrorKind.TYPE_CONSTRAINT,
    "format": ErrorKind.TYPE_CONSTRAINT,
    "pattern": ErrorKind.TYPE_CONSTRAINT,
    "enum": ErrorKind.PROPERTY_CONSTRAINT,
    "const": ErrorKind.PROPERTY_CONSTRAINT,
    "minimum": ErrorKind.PROPERTY_CONSTRAINT,
    "maximum": ErrorKind.PROPERTY_CONSTRAINT,
    "exclusiveMinimum": ErrorKind.PROPERTY_CONSTRAINT,
    "exclusiveMaximum": ErrorKind.PROPERTY_CONSTRAINT,
    "multipleOf": ErrorKind.PROPERTY_CONSTRAINT,
    "uniqueItems": ErrorKind.PROPERTY_CONSTRAINT,
    "additionalProperties": ErrorKind.FORMAT,
}


class _StringEnumAsSet:
    """Mixin: an `enum` whose values are all strings is checked with one lookup in a set literal.

    Same meaning as fastjsonschema's generated `isinstance(v, str) and v == 'a' or ...` (a value
    must be a string equal to one of them: `True` is not `1`, nor is a number a string).
    """

    _definition: dict[str, Any]

    def generate_enum(self) -> None:
        enum = self._definition["enum"]
        if isinstance(enum, list) and enum and all(type(value) is str for value in enum):
            members = "{" + ", ".join(repr(value) for value in sorted(set(enum))) + "}"
            generator: Any = self
            with generator.l("if not (isinstance({variable}, str) and {variable} in {}):", members):
                generator.exc("{name} must be one of {}", generator.e(enum), rule="enum")
            return
        super().generate_enum()  # type: ignore[misc]


class _Draft04(_StringEnumAsSet, CodeGeneratorDraft04):  # type: ignore[misc]
    pass


class _Draft06(_StringEnumAsSet, CodeGeneratorDraft06):  # type: ignore[misc]
    pass


def _generator_class(schema: dict[str, Any]) -> type[_Draft04] | type[_Draft06]:
    return _Draft06 if "draft-06" in str(schema.get("$schema", "")) else _Draft04


def compile_fast(schema: dict[str, Any]) -> FastCheck | None:
    """The schema's fast check, with the format expressions of the fastjsonschema draft it is validated with."""
    return compile_fast_check(schema, _generator_class(schema).FORMAT_REGEXS)


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A schema's validator, as `fastjsonschema.compile(schema, use_default=False)` builds it but for enums.

    The schemas are the OCPP package's own files (no `$ref` leaves them), so no handler is needed.
    """
    generator_class = _generator_class(schema)
    resolver = RefResolver.from_schema(schema, handlers={}, store={})
    generator = generator_class(
        schema, resolver=resolver, formats={}, use_default=False, use_formats=True, detailed_exceptions=True
    )
    # As fastjsonschema.compile does: the generated module's globals, so the function can recurse.
    global_state = generator.global_state
    exec(generator.func_code, global_state)  # noqa: S102 - code generated from the packaged schemas
    validator: Validator = global_state[resolver.get_scope_name()]
    return validator


def schema_error(error: fastjsonschema.JsonSchemaValueException) -> OcppError:
    """The CALLERROR for a failed validation; its description names the field, never echoes values."""
    kind = _RULE_KINDS.get(error.rule or "", ErrorKind.FORMAT)
    message = error.message.replace("data", "payload", 1)
    return OcppError(kind, message, {"field": (error.name or "data").replace("data", "payload", 1)})


def schema_directory(version: OcppVersion) -> Traversable:
    return resources.files("ocpp") / _SCHEMA_DIRS[version] / "schemas"


class SchemaSet:
    """Every schema of one OCPP version: which actions exist, and their compiled validators.

    Validators compile on first use (about 5-10 ms each) and are kept for the process's life;
    `warm` compiles the hot ones at start-up so no station waits for a compilation.
    """

    def __init__(self, version: OcppVersion, directory: Traversable | None = None) -> None:
        self.version = version
        self._directory = directory or schema_directory(version)
        self._files = {entry.name.removesuffix(".json"): entry for entry in self._directory.iterdir()}
        if version is OcppVersion.V16:
            # 1.6 names a request's schema after the action alone: Heartbeat.json, HeartbeatResponse.json.
            self.actions = frozenset(name for name in self._files if not name.endswith("Response"))
        else:
            self.actions = frozenset(n.removesuffix("Request") for n in self._files if n.endswith("Request"))
        self._validators: dict[str, Validator] = {}
        # action -> (fast check or None, fastjsonschema validator), for requests and for responses.
        self._requests: dict[str, Checks] = {}
        self._responses: dict[str, Checks] = {}

    def knows(self, action: str) -> bool:
        return action in self.actions

    def _schema_name(self, action: str, *, response: bool) -> str:
        if response:
            return f"{action}Response"
        return action if self.version is OcppVersion.V16 else f"{action}Request"

    def _schema(self, action: str, name: str) -> dict[str, Any]:
        if action not in self.actions:
            raise KeyError(f"OCPP {self.version.label} has no action {action!r}")
        raw = self._files[name].read_bytes()
        # The 2.0.1 schema files start with a UTF-8 byte order mark, which JSON parsers refuse.
        schema: dict[str, Any] = orjson.loads(raw.removeprefix(_UTF8_BOM))
        return schema

    def validator(self, action: str, *, response: bool = False) -> Validator:
        """The compiled validator of an action's request (or response); KeyError for an unknown action."""
        name = self._schema_name(action, response=response)
        validator = self._validators.get(name)
        if validator is None:
            # fastjsonschema checks multipleOf 0.1 (1.6 charging schedules) through Decimal(repr(x)),
            # so 21.4 passes although 21.4 / 0.1 is 213.99999999999997 in binary floating point.
            validator = compile_schema(self._schema(action, name))
            self._validators[name] = validator
        return validator

    def fast_check(self, action: str, *, response: bool = False) -> FastCheck | None:
        """The action's fast check (None when its schema has none); KeyError for an unknown action."""
        return self._checks(action, response)[0]

    def checks(self, action: str, *, response: bool = False) -> Checks:
        """The action's fast check and validator, for a caller that validates often (see `check`)."""
        return self._checks(action, response)

    def _checks(self, action: str, response: bool) -> Checks:
        table = self._responses if response else self._requests
        checks = table.get(action)
        if checks is None:
            full = self.validator(action, response=response)
            fast = compile_fast(self._schema(action, self._schema_name(action, response=response)))
            checks = table[action] = (fast, full)
        return checks

    def warm(self, actions: Iterable[str]) -> None:
        for action in actions:
            self._checks(action, False)
            self._checks(action, True)

    def validate(self, action: str, payload: dict[str, Any], *, response: bool = False) -> None:
        """Raise the `OcppError` a station should get when `payload` breaks the action's schema."""
        checks = (self._responses if response else self._requests).get(action)
        if checks is None:
            checks = self._checks(action, response)
        fast = checks[0]
        if fast is not None and fast(payload):
            return
        try:
            checks[1](payload)
        except fastjsonschema.JsonSchemaValueException as error:
            raise schema_error(error) from None


def check(validator: Validator, payload: Any) -> None:
    """Run fastjsonschema's validator: the `OcppError` a station should get when the payload breaks the schema."""
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        raise schema_error(error) from None


_SETS: dict[OcppVersion, SchemaSet] = {}


def schemas(version: OcppVersion) -> SchemaSet:
    """The process-wide schema set of a version (validators are shared by every session)."""
    schema_set = _SETS.get(version)
    if schema_set is None:
        schema_set = _SETS[version] = SchemaSet(version)
    return schema_set

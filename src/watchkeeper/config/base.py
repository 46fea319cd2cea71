"""Building blocks for config models: a strict base model and the :class:`Secret` type.

Every config model derives from :class:`StrictModel` (unknown fields are errors). A field
typed :class:`Secret` may instead be given as ``<field>_file`` (a path whose content is the
secret, as Alertmanager's ``*_file`` fields work) and is redacted whenever it is dumped,
printed or logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, ValidationInfo, model_validator
from pydantic_core import core_schema

REDACTED = "<secret>"


class Secret:
    """A string that never shows itself. Call :meth:`reveal` where the value is needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return cls(value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return cls(str(value))
            raise ValueError("expected a string (or the same field with _file and a path)")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _v: REDACTED),
            json_schema_input_schema=core_schema.str_schema(),
        )


def _is_secret_annotation(annotation: Any) -> bool:
    if annotation is Secret:
        return True
    return (
        any(_is_secret_annotation(a) for a in get_args(annotation))
        if get_origin(annotation)
        else False
    )


class StrictModel(BaseModel):
    """Base of every config model: unknown fields are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    _secret_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._secret_fields = tuple(
            name for name, f in cls.model_fields.items() if _is_secret_annotation(f.annotation)
        )
        if cls._secret_fields:
            extra = cls.model_config.get("json_schema_extra")

            def add_file_fields(schema: dict[str, Any], _cls: type[Any] = cls) -> None:
                props = schema.setdefault("properties", {})
                for name in _cls._secret_fields:
                    alias = _cls.model_fields[name].alias or name
                    props[f"{alias}_file"] = {
                        "type": "string",
                        "description": f"path of a file holding {alias}",
                    }
                if callable(extra):
                    extra(schema)  # type: ignore[call-arg]

            cls.model_config["json_schema_extra"] = add_file_fields  # type: ignore[typeddict-item]

    @model_validator(mode="before")
    @classmethod
    def _read_secret_files(cls, data: Any, info: ValidationInfo) -> Any:
        if not cls._secret_fields or not isinstance(data, dict):
            return data
        data = dict(data)
        for name in cls._secret_fields:
            alias = cls.model_fields[name].alias or name
            key = f"{alias}_file"
            if key not in data:
                continue
            path_value = data.pop(key)
            if alias in data:
                raise ValueError(f"give either {alias} or {key}, not both")
            path = Path(str(path_value)).expanduser()
            if not path.is_absolute():
                path = Path((info.context or {}).get("base_dir", ".")) / path
            try:
                data[alias] = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(
                    f"{key}: cannot read {path}: {exc.strerror or exc}; "
                    "check the path and that Watchkeeper may read it"
                ) from None
        return data

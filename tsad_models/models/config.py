"""Typed model configs: build a config dataclass from overrides, checking every key and type.

A model's hyper-parameters are the fields of its config dataclass.  Variants in the
workflow config are dictionaries of overrides; ``build_config`` refuses an unknown key
or a value of the wrong type and names the config path (``where``) in the error.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from ..common.errors import ConfigError


def _check_type(value: Any, annotation: Any, where: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is typing.Any:
        return value
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        for arg in args:
            if arg is type(None) and value is None:
                return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_type(value, arg, where)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: value {value!r} has the wrong type; expected {annotation}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item_type = args[0] if args else typing.Any
        items = [_check_type(v, item_type, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if annotation is int:
        # numpy integers arrive from Paramspace-like sources; bools are not ints here
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return int(value)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if annotation is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    return value


def build_config(config_cls: type, overrides: dict[str, Any] | None, where: str) -> Any:
    """Return ``config_cls(**defaults | overrides)``, checking names and types of the overrides."""
    overrides = dict(overrides or {})
    hints = typing.get_type_hints(config_cls)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} for {config_cls.__name__}; valid keys: {', '.join(sorted(fields))}"
        )
    values = {k: _check_type(v, hints[k], f"{where}.{k}") for k, v in overrides.items()}
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as exc:  # __post_init__ checks of ranges
        raise ConfigError(f"{where}: {exc}") from None


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)

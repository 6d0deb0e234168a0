"""The model registry: a table of contents of every detector, by name.

    @register_model("pca", config=PCAConfig)
    class PCADetector(Detector): ...

    get_model_class("pca"), list_models(), model_config_class("pca")

Registering the same name twice is an error (two files claiming one name is a bug,
not an override), and so is a user model taking a built-in's name.  Built-in models are
listed by name and module in ``tsad_models.models.BUILTIN`` and imported on first use;
a name ``<family>:<member>`` (e.g. ``pyod:ECOD``) is registered on first use by the module
that ``tsad_models.models.FAMILIES`` names for the family;
a user's own model file is imported by ``load_model_files`` (config key
``model_files``).  Nothing scans directories.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import is_dataclass
from pathlib import Path

from ..common.errors import ConfigError

_REGISTRY: dict[str, tuple[type, type]] = {}
_USER_FILES: dict[str, str] = {}  # model name -> the user file that registered it
_loading_file: str | None = None


def _builtin_modules() -> dict[str, str]:
    from . import BUILTIN

    return BUILTIN


def _families() -> dict[str, str]:
    from . import FAMILIES

    return FAMILIES


def register_model(name: str, *, config: type) -> Callable[[type], type]:
    """Class decorator that registers a detector under ``name`` with its config dataclass."""
    if not is_dataclass(config):
        raise TypeError(f"register_model({name!r}): config must be a dataclass, got {config!r}")

    def wrap(cls: type) -> type:
        builtin = _builtin_modules().get(name)
        if builtin is not None and cls.__module__ != builtin:
            raise ValueError(
                f"model name {name!r} belongs to the built-in model in {builtin}; "
                f"pick another name for {cls.__module__}.{cls.__qualname__}"
            )
        if name in _REGISTRY and _REGISTRY[name][0] is not cls:
            other = _REGISTRY[name][0]
            raise ValueError(
                f"model name {name!r} is already registered by {other.__module__}.{other.__qualname__}; "
                f"pick another name for {cls.__module__}.{cls.__qualname__}"
            )
        _REGISTRY[name] = (cls, config)
        if _loading_file is not None:
            _USER_FILES[name] = _loading_file
        cls.name = name
        return cls

    return wrap


def list_models() -> list[str]:
    return sorted(set(_builtin_modules()) | set(_REGISTRY))


def _entry(name: str) -> tuple[type, type]:
    if name not in _REGISTRY and name in _builtin_modules():
        importlib.import_module(_builtin_modules()[name])
    family, colon, _ = name.partition(":")
    if name not in _REGISTRY and colon and family in _families():
        importlib.import_module(_families()[family]).register(name)
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; registered models: {', '.join(list_models())}. "
            "Add a model file (see README, 'Add a model') or fix the name."
        ) from None


def get_model_class(name: str) -> type:
    return _entry(name)[0]


def model_config_class(name: str) -> type:
    return _entry(name)[1]


def user_model_file(name: str) -> list[str]:
    """``[path]`` of the user file that registered ``name`` (as given in the config), ``[]`` for built-ins."""
    _entry(name)
    return [_USER_FILES[name]] if name in _USER_FILES else []


def load_model_files(paths: list[str] | tuple[str, ...], base_dir: str | Path = ".") -> None:
    """Import user model files (each registers itself). Paths are relative to ``base_dir``."""
    global _loading_file
    for p in paths:
        path = (Path(base_dir) / p).resolve()
        if not path.is_file():
            raise ConfigError(
                f"config key model_files: {p!r} does not exist (looked at {path}); "
                "give a path to a .py file relative to the working directory"
            )
        module_name = f"tsad_user_model_{path.stem}_{abs(hash(str(path))) % 10**8}"
        if module_name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        _loading_file = str(p)
        try:
            spec.loader.exec_module(module)
        except Exception:
            del sys.modules[module_name]
            raise
        finally:
            _loading_file = None

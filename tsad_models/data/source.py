"""Source name -> ``Source``: the module the table in ``sources/__init__.py`` names is
imported on first use (so a run imports only the sources of its datasets)."""

from __future__ import annotations

import importlib

from ..common.errors import ConfigError
from .sources import SOURCES
from .sources.base import Source


def source_module(name: str) -> str:
    """The dotted name of the module that implements source ``name``."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ConfigError(f"unknown dataset source {name!r}; known: {', '.join(sorted(SOURCES))}") from None


def get_source(name: str) -> Source:
    """The ``Source`` of ``name``: its module's ``SOURCE``, or ``SOURCES_BY_NAME[name]`` for a
    module that holds several."""
    module = importlib.import_module(source_module(name))
    several = getattr(module, "SOURCES_BY_NAME", None)
    source = several.get(name) if several is not None else getattr(module, "SOURCE", None)
    if not isinstance(source, Source):
        raise ConfigError(
            f"{module.__file__}: defines no Source for {name!r} (SOURCE, or SOURCES_BY_NAME[{name!r}]), "
            f"yet the table in tsad_models/data/sources/__init__.py names it"
        )
    return source

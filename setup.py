"""Builds the optional C kernels of the metric panel (everything else is in pyproject.toml).

``optional=True``: without a C compiler the install still succeeds and the metrics run on
their NumPy reference code (same numbers, slower); ``tsad-bench evaluate`` and the
benchmark say which engine ran.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tsad_models.metrics._kernels",
            ["tsad_models/metrics/_kernels.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)

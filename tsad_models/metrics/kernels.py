"""Which engine runs the all-threshold sweeps: the compiled kernels (``_kernels.c``) or NumPy.

Both give the same numbers (``tests/test_metric_kernels.py``); the NumPy code is the
readable reference and the fallback when the extension was not built (no C compiler at
install time).  ``TSAD_BENCH_METRICS_ENGINE=numpy`` forces the NumPy code.

Also here: how many threads the panel uses.  With two, the affiliation oracle and the
POT protocol run on a second thread beside the rest, and the score table's sort and rank
lookup are split in halves (``InBackground``, ``beside``).
"""

from __future__ import annotations

import os
import threading

EXPECTED_VERSION = 5  # KERNELS_VERSION in _kernels.c

try:
    from . import _kernels as compiled
except ImportError:  # not built: the NumPy code runs
    compiled = None
if compiled is not None and getattr(compiled, "VERSION", None) != EXPECTED_VERSION:
    import warnings

    warnings.warn(
        "tsad_models/metrics/_kernels is a stale build (made from an older _kernels.c): using the NumPy "
        "engine; rebuild with `pip install -e .`",
        RuntimeWarning,
        stacklevel=2,
    )
    compiled = None

ENGINE_VARIABLE = "TSAD_BENCH_METRICS_ENGINE"
THREADS_VARIABLE = "TSAD_BENCH_METRICS_THREADS"


def engine() -> str:
    """``"c"`` when the compiled kernels are built and not switched off, else ``"numpy"``."""
    choice = os.environ.get(ENGINE_VARIABLE, "auto")
    if choice not in ("auto", "c", "numpy"):
        raise ValueError(f"{ENGINE_VARIABLE}={choice!r}: use auto, c or numpy")
    if choice == "c" and compiled is None:
        raise RuntimeError(
            f"{ENGINE_VARIABLE}=c but the compiled metric kernels are not built: "
            "reinstall with a C compiler present (pip install -e .)"
        )
    return "numpy" if choice == "numpy" or compiled is None else "c"


def use_compiled(n: int) -> bool:
    """The compiled kernels take int32 ranks, so series of 2**31 points or more use NumPy."""
    return n < 2**31 - 2 and engine() == "c"


def threads() -> int:
    """Threads the panel may use: ``TSAD_BENCH_METRICS_THREADS``, else ``OMP_NUM_THREADS`` (which
    the workflow sets to a job's share of cores), else the machine's cores; at most 2 are used."""
    for variable in (THREADS_VARIABLE, "OMP_NUM_THREADS"):
        value = os.environ.get(variable)
        if value:
            try:
                return max(1, int(value))
            except ValueError:
                raise ValueError(f"{variable}={value!r}: give a whole number of threads") from None
    return os.cpu_count() or 1


class InBackground:
    """``fn(*args)`` on a second thread; ``result()`` waits for it (and re-raises its error).

    Used where two parts of the panel are independent: the compiled kernels and NumPy's
    array loops release the GIL, so two cores share the work.
    """

    def __init__(self, fn, *args):
        self._outcome: dict = {}
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn, args):
        try:
            self._outcome["value"] = fn(*args)
        except BaseException as error:  # handed to the caller of result()
            self._outcome["error"] = error

    def result(self):
        self._thread.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["value"]


class InForeground:
    """The same interface, computed on the spot (one thread)."""

    def __init__(self, fn, *args):
        self._value = fn(*args)

    def result(self):
        return self._value


def beside(fn, *args):
    """``fn(*args)`` on a second thread when two threads are allowed, else now."""
    return (InBackground if threads() > 1 else InForeground)(fn, *args)

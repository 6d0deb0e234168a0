"""Logging for one workflow job: everything goes to the job's log file (and stderr)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path


def listed(names, limit: int = 8) -> str:
    """``names`` for a message: all of them up to ``limit``, else the first ``limit`` and how many more."""
    names = [str(n) for n in names]
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}]" if len(names) <= limit else f"[{shown}, ... and {len(names) - limit} more]"


@contextlib.contextmanager
def job_logging(log_path: str | None, threads: int | None = None):
    """Log to ``log_path``; an exception is written to the log before it propagates."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        try:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(log_path, mode="w"))
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"cannot write the job's log file {log_path} ({exc.strerror}): make {Path(log_path).parent} "
                "writable (or free space there) and rerun; the job has not started",
            ) from None
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", handlers=handlers, force=True
    )
    logging.captureWarnings(True)
    if threads:
        # torch reads OMP_NUM_THREADS when it is imported (deep models import it lazily, after
        # this); importing torch here would cost seconds to every job that never uses it
        os.environ["OMP_NUM_THREADS"] = str(int(threads))
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(int(threads))
    try:
        yield logging.getLogger("tsad_models.job")
    except Exception:
        logging.getLogger("tsad_models.job").exception("job failed")
        raise

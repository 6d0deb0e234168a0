"""Device choice (``auto`` = CUDA when present, else CPU) and seeding."""

from __future__ import annotations

import fcntl
import os
import random
import tempfile

import numpy as np

_gpu_lock_handle = None  # kept open for the life of the process: the lock is the slot


def _claim_free_gpu(n_gpus: int) -> int:
    """Pick a GPU no other tsad-bench job on this machine holds (a file lock per GPU).

    Snakemake caps concurrent GPU jobs with ``--resources gpu=N`` but does not say which
    GPU a job gets; the lock makes N concurrent jobs land on N different GPUs.
    """
    global _gpu_lock_handle
    lock_dir = os.environ.get("TSAD_GPU_LOCK_DIR", tempfile.gettempdir())
    for index in range(n_gpus):
        handle = open(os.path.join(lock_dir, f"tsad-bench-gpu{index}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _gpu_lock_handle = handle
        return index
    return 0  # more jobs than GPUs (no cap given): share the first one


def resolve_device(name: str = "auto"):
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            if "CUDA_VISIBLE_DEVICES" in os.environ or torch.cuda.device_count() == 1:
                return torch.device("cuda:0")
            return torch.device(f"cuda:{_claim_free_gpu(torch.cuda.device_count())}")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from ..common.errors import ConfigError

        raise ConfigError(
            f"config key device: {name!r} asked for CUDA, but no CUDA device is available; use 'auto' or 'cpu'"
        )
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)

"""Describe the settings of published jobs that predate the job record's ``settings``.

    .venv/bin/python tools/record_settings.py report/published/*/

Each job record of a study's ``jobs.json.gz`` without ``settings`` gets them, computed from the job's own
config against the model's defaults at this commit (``tsad_models.models.settings.describe_settings``), with
``described`` saying so. Jobs that have them are left as they are, unless ``--redo "why"``: then every job's
settings are described again from its config, and ``described`` says why.

    .venv/bin/python tools/record_settings.py --redo "the short tag of 530888f called the package's defaults paper" DIR
"""

from __future__ import annotations

import ast
import gzip
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tsad_models.common.files import atomic_path  # noqa: E402
from tsad_models.models.settings import describe_settings  # noqa: E402


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def main(folders: list[str]) -> int:
    redo = None
    if folders[:1] == ["--redo"]:
        redo, folders = folders[1], folders[2:]
    described = f"at publishing, from the job's config, against the defaults of commit {commit()}"
    if redo:
        described = f"again at commit {commit()}, from the job's config ({redo})"
    for folder in folders:
        path = Path(folder) / "jobs.json.gz"
        if not path.is_file():
            print(f"{folder}: no jobs.json.gz (not a published workflow run), left as it is")
            continue
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            jobs = json.load(handle)
        added = 0
        for job in jobs:
            if "settings" in job and not redo:
                continue
            config = ast.literal_eval(job["config"]) if isinstance(job["config"], str) else job["config"]
            job["settings"] = {**describe_settings(job["model"], config, job["dataset"]), "described": described}
            added += 1
        if added:
            with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as handle:
                handle.write(json.dumps(jobs))
        print(f"{path}: {added} of {len(jobs)} jobs described")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

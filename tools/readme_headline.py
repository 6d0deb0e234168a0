"""Write (or check) the README's headline table from the published headline study.

    .venv/bin/python tools/readme_headline.py            # print the block
    .venv/bin/python tools/readme_headline.py --write    # replace it in README.md
    .venv/bin/python tools/readme_headline.py --check    # exit 1 if README.md's block differs

The study's aggregated rows (leaderboard.csv, not committed) are rebuilt in a temporary copy where missing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tsad_models.leaderboard.headline import headline_block, readme_block, replace_block  # noqa: E402
from tsad_models.leaderboard.publish import render_published  # noqa: E402


def block_of(study: Path, top: int) -> str:
    if (study / "leaderboard.csv").is_file():
        return headline_block(study, top)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / study.name
        shutil.copytree(study, copy, ignore=shutil.ignore_patterns("figures", "*.html", "*.png"))
        render_published(copy)
        return headline_block(copy, top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", default=str(ROOT / "report" / "published" / "headline"))
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--top", type=int, default=5)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true")
    action.add_argument("--check", action="store_true")
    args = parser.parse_args()
    block = block_of(Path(args.study), args.top)
    readme = Path(args.readme)
    if args.write:
        readme.write_text(replace_block(readme.read_text(), block))
        print(f"wrote the headline block of {args.study} into {readme}")
    elif args.check:
        if readme_block(readme.read_text()) != block:
            print(f"{readme}'s headline block is not what {args.study} gives: run tools/readme_headline.py --write")
            return 1
        print("README's headline block matches the published study")
    else:
        print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

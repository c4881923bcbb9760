"""The repository stands alone: no tracked file reads, imports or links a path beside it.

Its docs (docs/), its test data (intake/tests/data/) and its code are all
inside the checkout, so a fresh clone builds, tests and reads the same
everywhere. The needle is built here, so this file does not match itself.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The folder beside the repository that once held the spec and its cases,
# by relative and by absolute path.
NEEDLES = ("/".join(["..", "shared"]), str(ROOT.parent / "shared") + "/")


def _tracked_files() -> list[Path]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed, so the tracked files cannot be listed")
    result = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False, timeout=60)
    if result.returncode != 0:
        pytest.skip(f"not a git checkout ({result.stderr.decode(errors='replace').strip()})")
    return [ROOT / name for name in result.stdout.decode().split("\0") if name]


def test_no_tracked_file_points_outside_the_repository():
    offenders = []
    for path in _tracked_files():
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        offenders += [
            f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), start=1)
            if any(needle in line for needle in NEEDLES)
        ]

    assert not offenders, "Point to the project's own docs/ instead:\n" + "\n".join(offenders)

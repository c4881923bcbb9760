"""The embedded PostgreSQL of local runs and tests (config/embedded_db.py)."""

import subprocess
import sys

import pytest
from django.conf import settings

from config import embedded_db

pytestmark = pytest.mark.skipif(
    not (embedded_db.DATA_DIR / "PG_VERSION").exists(), reason="this run does not use the embedded PostgreSQL"
)


def test_a_handle_list_left_half_written_by_a_killed_process_does_not_stop_the_next_start():
    # given a process killed while the wheel rewrote its list (Ctrl-C on `make run`)
    handles = embedded_db.DATA_DIR / ".handle_pids.json"
    handles.write_text("")
    # when the next command starts (a new process: this one holds its server handle already)
    started = subprocess.run(
        [sys.executable, "-m", "config.embedded_db", "start"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it finds the server and prints its URL
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("postgres://postgres@")

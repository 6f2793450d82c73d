"""One service per database: the lock names its holder and is let go on release or death."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from storage.lock import DatabaseInUse, DatabaseLock


def test_a_second_holder_is_refused_with_the_first_ones_name(tmp_path):
    first = DatabaseLock(tmp_path / "muster.db").acquire()
    with pytest.raises(DatabaseInUse) as refused:
        DatabaseLock(tmp_path / "muster.db", role="muster chat").acquire()
    assert f"muster.db is in use by muster run (pid {os.getpid()} on " in str(refused.value)
    first.release()
    DatabaseLock(tmp_path / "muster.db", role="muster chat").acquire().release()


def test_the_lock_goes_with_a_holder_that_dies(tmp_path):
    path = tmp_path / "muster.db"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from storage.lock import DatabaseLock; "
                               "DatabaseLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)",
                               str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DatabaseInUse, match=f"pid {holder.pid} "):
            DatabaseLock(path).acquire()
    finally:
        holder.kill()
        holder.wait()
    DatabaseLock(path).acquire().release()  # SIGKILL let it go


def test_a_missing_folder_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        DatabaseLock(tmp_path / "nowhere" / "muster.db").acquire()

"""A process started to run leakmon ends right after its exit handlers (no interpreter teardown);
inside another program (a test runner calling the command) exit_process is an ordinary SystemExit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from monitor.quickexit import exit_process

ROOT = Path(__file__).resolve().parent.parent

# A console script as pip writes it (``from monitor.cli import main``), which then exits through
# exit_process with output still buffered, an exit handler, and an object finalized at teardown.
_SCRIPT = textwrap.dedent("""
    import atexit, sys, threading, time
    from monitor.cli import main
    from monitor.quickexit import exit_process

    class Noisy:
        def __del__(self):
            print("torn down", flush=True)

    kept = Noisy()
    atexit.register(lambda: print("exit handler ran"))
    # A pool's thread, stopped by its exit handler (as the parse pool is): not a reason to tear down.
    stop = threading.Event()
    pool_thread = threading.Thread(target=stop.wait)
    pool_thread.start()
    atexit.register(lambda: (stop.set(), pool_thread.join()))
    if len(sys.argv) > 2:           # a thread nobody stops before exit: the normal exit waits for it
        threading.Thread(target=time.sleep, args=(0.5,)).start()
    sys.stdout.write("buffered output")
    sys.stdout.write("\\n")
    exit_process(int(sys.argv[1]))
""")


def _run(tmp_path: Path, code: int, *extra: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "leakmon"
    script.write_text(_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script), str(code), *extra], capture_output=True, text=True,
                          env=env, timeout=60)


def test_leakmon_s_own_process_skips_the_teardown_but_not_the_exit_handlers(tmp_path: Path) -> None:
    done = _run(tmp_path, 3)
    assert done.returncode == 3
    assert done.stdout.splitlines() == ["buffered output", "exit handler ran"]   # no "torn down"


def test_a_thread_still_running_after_the_exit_handlers_gets_a_normal_exit(tmp_path: Path) -> None:
    done = _run(tmp_path, 5, "straggler")
    assert done.returncode == 5
    assert done.stdout.splitlines() == ["buffered output", "exit handler ran", "torn down"]


def test_python_m_monitor_is_leakmon_s_own_process_too(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "x.db"}"\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LEAKMON_TELEGRAM_TOKEN": ""}
    done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "once"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr


def test_inside_another_program_it_is_a_plain_system_exit() -> None:
    with pytest.raises(SystemExit) as raised:
        exit_process(4)
    assert raised.value.code == 4

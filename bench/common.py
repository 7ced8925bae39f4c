"""Helpers shared by the benchmarks: paths, the leakmon command, memory sampling, result lines.

Every benchmark prints its figures for a person, then ONE last line ``RESULT {json}`` that
``bench/run_all.py`` collects into the summary table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def leakmon_cmd() -> list[str]:
    """The leakmon command as installed next to this Python (the console script, not a shell
    shim such as pyenv's, whose own start-up is not ours); ``python -m monitor`` otherwise."""
    script = Path(sys.executable).parent / "leakmon"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "monitor"]


def bench_env(cache_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a leakmon run: no bot token (alerts on the console), our cache dir."""
    env = {**os.environ, "LEAKMON_TELEGRAM_TOKEN": "", "PYTHONPATH": str(ROOT), **extra}
    if cache_dir is not None:
        env["LEAKMON_CACHE_DIR"] = str(cache_dir)
    return env


def timed(cmd: list[str], **kwargs: Any) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Wall-clock seconds of one command, and its result."""
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, **kwargs)
    return time.perf_counter() - start, done


def watch_file_toml(csv_path: Path) -> str:
    """A ``[[watch_file]]`` table for the generated establishments CSV."""
    return (f'[[watch_file]]\npath = "{csv_path.resolve().as_posix()}"\nname_column = "name"\n'
            'terms_columns = ["name", "alias", "domain"]\nkind = "establishment"\n')


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in kB (empty when it is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def tree_rss(pid: int) -> int:
    """VmRSS in kB of a process and of every process under it (parse and match workers)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        total += proc_memory(current).get("VmRSS", 0)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            pass
    return total


def ensure_data(rows: int, mb: float) -> None:
    """Generate bench/data/ with gen_names.py unless it is there with the same sizes."""
    stamp = DATA / "params.json"
    wanted = {"rows": rows, "mb": mb}
    if stamp.exists() and json.loads(stamp.read_text()) == wanted and (DATA / "corpus.txt").exists():
        return
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_names.py"), "--rows", str(rows), "--mb", str(mb)],
                   check=True)
    stamp.write_text(json.dumps(wanted))


def result(name: str, **figures: Any) -> None:
    """The machine-readable last line of a benchmark."""
    print("RESULT " + json.dumps({"name": name, **figures}), flush=True)

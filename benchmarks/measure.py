"""Run one command and measure it: wall and CPU time, peak RSS of the largest process
(ru_maxrss from wait4) and, sampled over time, the RSS of the whole process
tree (a processor with parallel page workers, a METS server's clients)."""
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import List, Tuple

import psutil


class CommandFailed(RuntimeError):
    """A benchmarked command exited non-zero: the benchmark stops (never skips)."""


@dataclass
class Measurement:
    wall_s: float
    cpu_s: float  # user + system CPU time of the process and its waited-for children
    max_rss_mb: float  # the largest single process (ru_maxrss)
    tree_rss_mb: float  # peak of the sampled sum over the process tree
    samples: List[Tuple[float, float]] = field(default_factory=list)  # (seconds, tree MB)


def tree_rss(process):
    """Resident memory (bytes) of `process` and all its descendants."""
    total = 0
    try:
        for proc in [process] + process.children(recursive=True):
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def measure(cmd, cwd=None, env=None, log=None, interval=0.5):
    """Run `cmd` (list), raise CommandFailed (with its log tail) on a non-zero exit."""
    full_env = {**os.environ, **(env or {})}
    log_file = open(log, 'ab') if log else subprocess.DEVNULL
    start = time.perf_counter()
    child = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=full_env,
                             stdout=log_file, stderr=subprocess.STDOUT)
    samples, done = [], threading.Event()

    def sample():
        process = psutil.Process(child.pid)
        while not done.wait(interval):
            samples.append((time.perf_counter() - start, tree_rss(process) / 2**20))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if log:
        log_file.close()
    if child.returncode != 0:
        tail = open(log, encoding='utf-8', errors='replace').read()[-3000:] if log else ''
        raise CommandFailed(f"command failed (exit {child.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    peak_tree = max([mb for _, mb in samples] + [usage.ru_maxrss / 1024])
    return Measurement(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak_tree, samples)

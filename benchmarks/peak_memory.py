"""The peak memory of one process alone, for the benchmarks' fresh-process measurements.

`resource.getrusage(RUSAGE_SELF).ru_maxrss` is not that on Linux: a child started by a big
process (subprocess forks or vforks, then execs) inherits the parent's high-water mark, so every
child of a benchmark that had made a 4096² texture itself reported the parent's ~1.2 GiB (why the
README once showed the same peak for PyTorch and NumPy). /proc/self/status's VmHWM belongs to the
process's own address space, which exec makes new.
"""

from __future__ import annotations

import resource
import sys


def own_peak_rss() -> int:
    """Bytes: the highest resident memory of this process since it was exec'd."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # elsewhere: maxrss (macOS: bytes)
    return peak if sys.platform == "darwin" else peak * 1024

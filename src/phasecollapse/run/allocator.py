"""Process memory allocator setting for CPU training: keep freed memory instead of returning it.

A training step allocates and frees the same large activation buffers every time. With glibc's
defaults, blocks above the (dynamic) mmap threshold are mmap'ed and unmapped on every step, and
each fresh mapping is paid again in page faults when first written. Raising the mmap and trim
thresholds (``mallopt``) keeps those blocks in the heap for reuse. Measured on 2 CPU cores,
CIFAR-10 LScat + skip, batch 128, bf16, eager: 4.4 → 3.7 s per step.

The command-line tool applies it to every command (and ``bench`` to both sides of a
comparison); library users opt in by calling :func:`keep_freed_memory`. Elsewhere than glibc
(macOS, musl, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size stay in the heap, and the heap is not trimmed below it.
THRESHOLD = 1 << 30


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds to :data:`THRESHOLD`; True when both took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, THRESHOLD))

"""retained_heap: inside it freed large tensors are reused, not faulted in afresh; on leaving
it the memory goes back to the system.

The scenario runs in a fresh interpreter: the allocator's state is process-wide, and other
tests (any CPU training) leave it changed.
"""

import json
import subprocess
import sys

SCENARIO = r"""
import json, resource, torch
from kgrec.core.memory import retained_heap

BLOCK = 64 * 2**20  # above glibc's largest mmap threshold (32 MiB)

def faults_of_cycle():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = torch.empty(BLOCK // 4)
    block.fill_(1.0)
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()

default = [faults_of_cycle() for _ in range(3)]
with retained_heap() as active:
    held = [torch.ones(BLOCK // 4) for _ in range(4)]  # grow the heap, then free it
    del held
    for _ in range(8):  # memalign's padding: the free chunks settle within a few cycles
        faults_of_cycle()
    warm = [faults_of_cycle() for _ in range(3)]
    with retained_heap():
        pass
    nested = [faults_of_cycle() for _ in range(3)]
    rss_inside = rss()
rss_after = rss()
print(json.dumps(dict(active=active, default=default, warm=warm, nested=nested,
                      released=rss_inside - rss_after, pages=BLOCK // resource.getpagesize())))
"""


def run_scenario() -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCENARIO], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_retained_heap_reuses_freed_blocks_and_releases_them_on_exit():
    r = run_scenario()
    assert r["active"], "this machine's C library should be glibc"
    pages = r["pages"]
    # glibc's default: every large block is a fresh mapping whose pages fault in
    assert min(r["default"]) > pages // 2
    # inside, once settled: the freed heap is reused, also after a nested block ended
    assert max(r["warm"]) < pages // 10
    assert max(r["nested"]) < pages // 10
    # leaving the block trims the heap: most of the 256 MiB it held is returned
    assert r["released"] > 2 * 64 * 2**20

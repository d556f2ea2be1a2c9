"""What asynclab.trace() costs, counted in instructions, which a busy machine moves far less than time.

    make bench-instructions       (needs valgrind: apt-get install valgrind; about 3 minutes)

The workload of trace_overhead.py (each task `async with Semaphore(100): await asyncio.sleep(0)`)
with fewer tasks, since valgrind runs Python about 50 times slower.  Each variant runs in its
own Python under valgrind's callgrind, with and without the tasks; the difference is what the
tasks cost, without Python's start-up and imports.  PYTHONHASHSEED is fixed so that repeated
runs count the same.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TASKS = 2000
ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import asyncio, sys
import asynclab

async def workload(n):
    sem = asyncio.Semaphore(100)

    async def job():
        async with sem:
            await asyncio.sleep(0)

    await asyncio.gather(*(asyncio.create_task(job()) for _ in range(n)))

async def traced(n):
    async with asynclab.trace():
        await workload(n)

variant, n = sys.argv[1], int(sys.argv[2])
main = workload if variant == "bare" else traced
asyncio.run(main(0))            # once without tasks: what the trace itself costs to open, in both
asyncio.run(main(n))
"""


def instructions(variant, tasks):
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
             sys.executable, "-c", CHILD, variant, str(tasks)],
            capture_output=True, text=True, cwd=ROOT,
            env=dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(ROOT)))
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or not found:
        sys.exit(f"valgrind failed for {variant} with {tasks} tasks:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main():
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind); nothing measured")
        return 1
    runs = [(v, n) for v in ("bare", "traced") for n in (0, TASKS)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(runs, pool.map(lambda run: instructions(*run), runs)))
    bare = counts["bare", TASKS] - counts["bare", 0]
    traced = counts["traced", TASKS] - counts["traced", 0]
    print(f"{TASKS} tasks, Python {sys.version.split()[0]}: untraced {bare / 1e6:.0f} million "
          f"instructions, traced {traced / 1e6:.0f} million: {traced / bare:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Data beyond memory: the runner's fit of a Parquet column read in chunks against pyarrow's
own read of the same column (``pq.ParquetFile(...).iter_batches``), with each run's peak
memory (resident set, from a fresh process per measurement).

    python benchmarks/bigdata.py --n 1000000000 --path /tmp/bigdata.parquet   # 8 GB
    python benchmarks/bigdata.py --n 100000000 --families gaussian student_t

The file is generated once (float64 draws of 1 + 2 t(5), snappy, row groups of 2^20 rows) and
reused when it already holds ``n`` values. Throughput is values per second of wall time;
each measurement is the best of ``--repeat`` runs, after one read that warms the page
cache (so every tool reads from memory, not from the disk, alike).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROW_GROUP = 1 << 20

MEASURE = r"""
import json, resource, sys, time
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

path, what, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
if what.startswith("pyarrow"):
    started = time.perf_counter()
    n, total = 0, 0.0
    options = {} if what == "pyarrow" else {"pre_buffer": False}
    for batch in pq.ParquetFile(path, **options).iter_batches(batch_size=rows, columns=["x"]):
        n += len(batch)  # the read alone; the runner's numbers add its work on the values
    seconds = time.perf_counter() - started
    extra = {}
else:
    from runner.io.parquet_data import ParquetChunks
    from runner.stats import families
    from runner.stats.chunked import fit_chunks

    family = families.get(what)
    fit_chunks(family, ParquetChunks(sys.argv[4], "x", family, chunk_rows=rows))  # imports
    chunks = ParquetChunks(path, "x", family, chunk_rows=rows)
    passes = []
    original = chunks.passes
    chunks.passes = lambda: (passes.append(1), original())[1]
    started = time.perf_counter()
    fit = fit_chunks(family, chunks)
    seconds = time.perf_counter() - started
    n = fit.n
    extra = {"passes": len(passes), "params": fit.params}
# VmHWM: this process's own peak resident set (ru_maxrss would carry the parent's over
# the fork); getrusage where /proc is absent.
try:
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    peak = int(status.split()[0]) * 1024
except (OSError, IndexError):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"n": n, "seconds": seconds, "peak": peak, **extra}))
"""


def generate(path: Path, n: int) -> float:
    """``n`` float64 draws of 1 + 2 t(5) in row groups of 2^20; seconds taken."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    rng = np.random.default_rng(2026)
    schema = pa.schema([("x", pa.float64())])
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        done = 0
        while done < n:
            size = min(8 * ROW_GROUP, n - done)
            values = 1.0 + 2.0 * rng.standard_t(5.0, size)
            writer.write_table(pa.table({"x": values}, schema=schema), row_group_size=ROW_GROUP)
            done += size
    return time.perf_counter() - started


def held(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:
        return -1


def measure(path: Path, what: str, rows: int, small: Path) -> dict:
    command = [sys.executable, "-c", MEASURE, str(path), what, str(rows), str(small)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def best(path: Path, what: str, rows: int, small: Path, repeat: int) -> dict:
    runs = [measure(path, what, rows, small) for _ in range(repeat)]
    return min(runs, key=lambda r: r["seconds"]) | {"peak": max(r["peak"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000_000)
    parser.add_argument("--path", type=Path, default=Path("/tmp/bigdata.parquet"))
    parser.add_argument("--rows", type=int, default=ROW_GROUP, help="values per chunk")
    parser.add_argument("--families", nargs="+", default=["gaussian"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    made = None
    if held(args.path) != args.n:
        made = generate(args.path, args.n)
    small = args.path.with_name("bigdata-small.parquet")
    if held(small) != 3 * 4096:
        import numpy as np
        import pyarrow as pa
        import pyarrow.parquet as pq

        values = np.random.default_rng(1).standard_t(5.0, 3 * 4096)
        pq.write_table(pa.table({"x": values}), small)
    size = args.path.stat().st_size
    measure(args.path, "pyarrow", args.rows, small)  # warm the page cache
    rows = [("pyarrow iter_batches (default: pre_buffer)", best(args.path, "pyarrow", args.rows,
                                                                small, args.repeat))]  # fmt: skip
    rows.append(("pyarrow iter_batches, pre_buffer=False",
                 best(args.path, "pyarrow_nobuffer", args.rows, small, args.repeat)))  # fmt: skip
    for family in args.families:
        rows.append((f"runner fit, {family}", best(args.path, family, args.rows, small,
                                                   args.repeat)))  # fmt: skip
    base = rows[0][1]["n"] / rows[0][1]["seconds"]
    unbuffered = rows[1][1]["n"] / rows[1][1]["seconds"]
    print(f"# Parquet column of {args.n:,} float64 values ({size / 2**30:.2f} GiB, snappy, row "
          f"groups of {ROW_GROUP:,}), chunks of {args.rows:,} values; {platform.platform()}, "
          f"Python {platform.python_version()}\n")  # fmt: skip
    if made is not None:
        print(f"Generated in {made:.0f} s. ", end="")
    print(f"Best of {args.repeat} runs each (peak: the largest of them), page cache warm.\n")
    print("| what | seconds | values/s | vs pyarrow read | vs pre_buffer=False read | passes "
          "| peak RSS (MiB) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        rate = r["n"] / r["seconds"]
        print(f"| {name} | {r['seconds']:.2f} | {rate / 1e6:.0f} M | {rate / base:.0%} | "
              f"{rate / unbuffered:.0%} | "
              f"{r.get('passes', 1)} | {r['peak'] / 2**20:.0f} |")  # fmt: skip
    for name, r in rows:
        if "params" in r:
            shown = ", ".join(f"{k} = {v:.6g}" for k, v in r["params"].items())
            print(f"\n{name}: {shown}", end="")
    print()


if __name__ == "__main__":
    main()

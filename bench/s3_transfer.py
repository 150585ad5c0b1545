"""S3 PutObject and GetObject of a 256 MiB object through boto3's managed transfer (multipart, parallel
ranged GETs), as MB/s beside copying the same file on the same disk."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from bench.server import bench_server, report

SIZE = 256 * 1024 * 1024


def _mb_per_s(seconds: float) -> float:
    return SIZE / seconds / 1e6


def run(work: Path) -> None:
    source = work / "object.bin"
    if not source.exists() or source.stat().st_size != SIZE:
        with source.open("wb") as handle:
            for _ in range(SIZE // (16 * 1024 * 1024)):
                handle.write(os.urandom(16 * 1024 * 1024))
    copy_target = work / "object.copy"
    started = time.perf_counter()
    shutil.copyfile(source, copy_target)
    with copy_target.open("rb+") as handle:
        os.fsync(handle.fileno())
    disk = _mb_per_s(time.perf_counter() - started)
    copy_target.unlink()

    with bench_server(work / "server-s3") as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="bench-s3")
        started = time.perf_counter()
        s3.upload_file(str(source), "bench-s3", "big.bin")
        put = _mb_per_s(time.perf_counter() - started)
        target = work / "object.download"
        started = time.perf_counter()
        s3.download_file("bench-s3", "big.bin", str(target))
        get = _mb_per_s(time.perf_counter() - started)
        target.unlink()
    report(
        "S3 transfer of 256 MiB through boto3 (MB/s, higher is better)",
        [
            ("PutObject (upload_file)", f"{put:.0f}", f"{disk:.0f} (disk copy)", f"{put / disk:.2f}x"),
            ("GetObject (download_file)", f"{get:.0f}", f"{disk:.0f} (disk copy)", f"{get / disk:.2f}x"),
        ],
    )

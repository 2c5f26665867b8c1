"""Benchmark JPEG decoding: nvJPEG on a GPU (batched) against the CPU path, same photographs.

    .venv/bin/python bench/gpu_decode.py [--n 480] [--batch 96] [--jobs N] [--json]

The CPU figure is what ingest does today: libjpeg-turbo decoding each 12 MP camera JPEG with
DCT scaling to about the thumbnail's size (``decode.reduced_image``), in ``--jobs`` processes
(default: every core). The GPU figure is :func:`dalil.media.gpu.decode_reduced` over batches of
``--batch`` JPEGs: full decode by nvJPEG, reduced on the GPU to the same size, copied back.
Both are images per second over the same files held in memory (reading is not timed). Where
no GPU is usable (no torch with CUDA, no device), the GPU part says why and only the CPU figure
is printed. No timing is asserted.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import common
from dalil.ingest import decode
from dalil.media import gpu

SIDE = 256  # the thumbnail size ingest decodes for (settings.thumbnail_size)


def _cpu_decode(data: bytes) -> int:
    image = decode.reduced_image(data, SIDE)
    return 0 if image is None else image.size[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=480, help="photographs (12 MP JPEG)")
    parser.add_argument("--batch", type=int, default=96, help="JPEGs per GPU call")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="CPU processes")
    parser.add_argument("--workdir", default=str(common.DEFAULT_WORKDIR), help="photo cache")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    from pathlib import Path

    source = common.ensure_corpus(Path(args.workdir), args.n)
    datas = [(source / f).read_bytes() for f in common.list_files(source)]
    results: dict[str, Any] = {"machine": common.machine(), "n": len(datas), "jobs": args.jobs}
    with ProcessPoolExecutor(args.jobs) as pool:
        list(pool.map(_cpu_decode, datas[: args.jobs * 2]))  # workers started and warm
        started = time.perf_counter()
        widths = list(pool.map(_cpu_decode, datas, chunksize=8))
        cpu_s = time.perf_counter() - started
    results["cpu_images_per_s"] = round(len(datas) / cpu_s, 1)
    rows = [
        (
            "CPU (libjpeg-turbo, DCT-scaled)",
            f"{results['cpu_images_per_s']} images/s, {args.jobs} processes",
        )
    ]
    device = gpu.available()
    results["gpu_device"] = device
    if device is None:
        results["gpu_images_per_s"] = None
        rows.append(("GPU (nvJPEG)", "not measured: no torch with CUDA and a visible GPU here"))
    else:
        gpu.decode_reduced(datas[: args.batch], SIDE)  # CUDA context and nvJPEG handles made
        started = time.perf_counter()
        decoded = []
        for i in range(0, len(datas), args.batch):
            decoded.extend(gpu.decode_reduced(datas[i : i + args.batch], SIDE))
        gpu_s = time.perf_counter() - started
        results["gpu_images_per_s"] = round(len(datas) / gpu_s, 1)
        results["gpu_failed"] = sum(1 for d in decoded if d is None)
        same = sum(
            1 for d, w in zip(decoded, widths, strict=True) if d is not None and d.shape[1] == w
        )
        results["gpu_same_size_as_cpu"] = same
        rows.append(
            (
                "GPU (nvJPEG)",
                f"{results['gpu_images_per_s']} images/s, batch {args.batch}, {device}",
            )
        )
        rows.append(
            ("GPU / CPU", f"{results['gpu_images_per_s'] / results['cpu_images_per_s']:.2f}x")
        )
    results["report"] = "JPEG decoding, GPU against CPU\n\n" + common.table(rows)
    common.publish("gpu-decode", results, args.json)


if __name__ == "__main__":
    main()

"""Benchmark face detection and embedding (``dalil.faces.detect.faces_in_file``) on this CPU.

    .venv/bin/python bench/faces.py [--n 12] [--repeat 3] [--workdir DIR] [--json]

Makes ``--n`` photographs of each of three sizes from the public-domain test faces
(``tests/faces/data``): a family's snapshot (900 x 700, one face), a small case crop
(180 x 180) and a 12 MP camera frame (4000 x 3000, one large face). For each size it times
Dalil's whole path (read the file, decode upright at reduced size, detect, align, embed) and,
as the baseline, ``cv2.imread`` plus a resize of the same files to the same working size: the
decode a face pipeline cannot avoid. It prints milliseconds per face and the ratio to the
baseline (best of ``--repeat``). Nothing is asserted, except that every photograph shows its
face. Results go to stdout and ``bench/out/faces-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageEnhance

import common
from dalil.faces import models
from dalil.faces.detect import MAX_SIDE, faces_in_file

FACES = Path(__file__).resolve().parents[1] / "tests" / "faces" / "data"
PEOPLE = ("collins", "hopper", "cameraman")
SIZES = {"snapshot": ((900, 700), 400), "crop": ((180, 180), 180), "camera": ((4000, 3000), 1100)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=12, help="photographs of each size")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is kept")
    parser.add_argument("--workdir", type=Path, default=common.DEFAULT_WORKDIR)
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    return parser.parse_args(argv)


def make_photos(folder: Path, kind: str, n: int) -> list[Path]:
    (width, height), face_side = SIZES[kind]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    paths = []
    for i in range(n):
        path = folder / f"{kind}-{i:03d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        face = Image.open(FACES / f"{PEOPLE[i % len(PEOPLE)]}.jpg").convert("RGB")
        face = face.rotate(float(rng.uniform(-8, 8)), resample=Image.Resampling.BICUBIC)
        face = ImageEnhance.Brightness(face).enhance(float(rng.uniform(0.8, 1.2)))
        canvas = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(60, 200, 3)))
        face = face.resize((face_side, face_side))
        left = int(rng.integers(0, width - face_side + 1))
        top = int(rng.integers(0, height - face_side + 1))
        canvas.paste(face, (left, top))
        canvas.save(path, "JPEG", quality=90)
    return paths


def baseline(path: Path) -> int:
    """Decode with OpenCV and bring to Dalil's working size: the floor of any face pipeline."""
    image = cv2.imread(str(path))
    h, w = image.shape[:2]
    scale = MAX_SIDE / max(h, w)
    if scale < 1:
        size = (round(w * scale), round(h * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return int(image.shape[0])


def dalil(path: Path) -> int:
    found = faces_in_file(path)
    if not found:
        raise SystemExit(f"no face found in {path}")
    return len(found)


def best_of(repeat: int, work: Callable[[Path], int], paths: list[Path]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for path in paths:
            work(path)
        best = min(best, time.perf_counter() - started)
    return best


def run(args: argparse.Namespace) -> dict[str, Any]:
    models.networks()  # load once, outside the timings (about 0.1 s)
    folder = args.workdir / "faces-v1"
    results: dict[str, Any] = {"machine": common.machine(), "model": models.MODEL, "sizes": {}}
    for kind in SIZES:
        paths = make_photos(folder, kind, args.n)
        for path in paths:  # warm the page cache and the code paths
            baseline(path)
            dalil(path)
        base = best_of(args.repeat, baseline, paths)
        ours = best_of(args.repeat, dalil, paths)
        results["sizes"][kind] = {
            "photos": len(paths),
            "size": "x".join(map(str, SIZES[kind][0])),
            "baseline_ms": round(1000 * base / len(paths), 1),
            "dalil_ms_per_face": round(1000 * ours / len(paths), 1),
            "ratio": round(ours / base, 1),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    out = common.write_results("faces", results)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    rows = [
        (
            f"{kind} ({r['size']})",
            f"{r['dalil_ms_per_face']} ms per face; imread+resize {r['baseline_ms']} ms;"
            f" ratio {r['ratio']}x",
        )
        for kind, r in results["sizes"].items()
    ]
    print(f"face detection + embedding ({results['model']}), best of {args.repeat}:")
    print(common.table(rows))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the OCR assist (``dalil.ocr.read_numbers``) on the demo collection.

    .venv/bin/python bench/ocr.py [--cards 60] [--seed 11] [--workdir DIR] [--per-card K]
                                  [--limit N] [--json]

Generates (or reuses) a demo collection of ``--cards`` index cards in
``WORKDIR/ocr-demo-<cards>-<seed>`` and reads every camera photo of it (kind ``photo``, EXIF
orientation applied). For each digit system x writing style it reports:

* ``field``: a field (detainee, branch, report) is right when a reading carries that field
  and the card's value;
* ``anywhere``: the value was read somewhere on the photo, whatever field it got;
* ``wrong``: readings with a field whose value is not that field's value;

plus the mean seconds per photo. Goals (from the issue): 95 % of printed and 85 % of
handwriting-style fields exactly right. Nothing is asserted. Results go to stdout and to
``bench/out/ocr-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

import common
from dalil.demo.generate import DemoManifest, default_manifest_path, generate_collection
from dalil.ocr import ENGINE_VERSION, read_numbers
from dalil.ocr.confidence import PROPOSE_AT

FIELDS = ("detainee", "branch", "report")
GOALS = {"printed": 0.95, "handwritten": 0.85}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=60, help="index cards to generate")
    parser.add_argument("--seed", type=int, default=11, help="demo generator seed")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=common.DEFAULT_WORKDIR,
        help="where the collection is generated (default: %(default)s)",
    )
    parser.add_argument(
        "--per-card",
        type=int,
        default=0,
        help="read at most this many photos of each card (default: all)",
    )
    parser.add_argument("--limit", type=int, default=0, help="read at most this many photos")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    return parser.parse_args(argv)


def collection(workdir: Path, cards: int, seed: int) -> tuple[Path, DemoManifest]:
    root = workdir / f"ocr-demo-{cards}-{seed}"
    manifest_path = default_manifest_path(root)
    if manifest_path.exists():
        return root, DemoManifest.read_json(manifest_path)
    if root.exists():
        common.remove(root)
    common.log(f"generating a demo collection of {cards} cards in {root} ...")
    return root, generate_collection(root, cards=cards, seed=seed, photo_size=(1600, 1200))


def run(args: argparse.Namespace) -> dict[str, Any]:
    root, manifest = collection(args.workdir, args.cards, args.seed)
    photos = [f for f in manifest.files if f.kind == "photo" and f.path and f.card]
    if args.per_card:
        seen: dict[str, int] = defaultdict(int)
        kept = []
        for f in photos:
            assert f.card is not None
            seen[f.card.card_id] += 1
            if seen[f.card.card_id] <= args.per_card:
                kept.append(f)
        photos = kept
    if args.limit:
        photos = photos[: args.limit]
    tally: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds = 0.0
    misses: list[dict[str, Any]] = []
    for k, item in enumerate(photos, 1):
        card = item.card
        assert card is not None and item.path is not None
        with Image.open(root / item.path) as im:
            image = ImageOps.exif_transpose(im)
            started = time.perf_counter()
            readings = read_numbers(image)
            seconds += time.perf_counter() - started
        group = f"{card.digits}/{card.style}"
        values = {r.value for r in readings}
        t = tally[group]
        t["photos"] += 1
        for name in FIELDS:
            truth = getattr(card, name)
            t["fields"] += 1
            got = [r.value for r in readings if r.field == name]
            t["field_right"] += truth in got
            t["anywhere"] += truth in values
            t["wrong"] += sum(v != truth for v in got)
            # what ``cases ocr`` proposes: only values at least PROPOSE_AT sure for the field
            sure = [
                r.value for r in readings if r.field == name and r.field_confidence >= PROPOSE_AT
            ]
            t["proposed_right"] += truth in sure
            t["proposed_wrong"] += any(v != truth for v in sure)
            if truth not in got:
                misses.append(
                    {
                        "photo": item.path,
                        "group": group,
                        "field": name,
                        "truth": truth,
                        "read": [r.to_dict() for r in readings],
                    }
                )
        if k % 20 == 0:
            common.log(f"  {k}/{len(photos)} photos, {seconds / k:.2f} s each")
    groups: dict[str, Any] = {}
    for group in sorted(tally):
        t = tally[group]
        groups[group] = {
            "photos": t["photos"],
            "fields": t["fields"],
            "field_accuracy": round(t["field_right"] / t["fields"], 4),
            "anywhere_accuracy": round(t["anywhere"] / t["fields"], 4),
            "wrong_field_readings": t["wrong"],
            "right_value_proposed": round(t["proposed_right"] / t["fields"], 4),
            "wrong_value_proposed": round(t["proposed_wrong"] / t["fields"], 4),
        }
    by_style: dict[str, Any] = {}
    for style in GOALS:
        ts = [tally[g] for g in tally if g.endswith("/" + style)]
        fields = sum(t["fields"] for t in ts)
        if fields:
            right = sum(t["field_right"] for t in ts)
            by_style[style] = {
                "field_accuracy": round(right / fields, 4),
                "right_value_proposed": round(sum(t["proposed_right"] for t in ts) / fields, 4),
                "wrong_value_proposed": round(sum(t["proposed_wrong"] for t in ts) / fields, 4),
                "goal": GOALS[style],
                "fields": fields,
            }
    return {
        "engine_version": ENGINE_VERSION,
        "cards": args.cards,
        "seed": args.seed,
        "photos": len(photos),
        "seconds_per_photo": round(seconds / max(1, len(photos)), 3),
        "groups": groups,
        "by_style": by_style,
        "misses": misses,
        "machine": common.machine(),
    }


def report(results: dict[str, Any]) -> str:
    head = f"  {'digits/style':<26} {'photos':>6} {'field':>7} {'anywhere':>9} {'wrong':>6}"
    rows = [head]
    for group, g in results["groups"].items():
        rows.append(
            f"  {group:<26} {g['photos']:>6} {g['field_accuracy']:>7.1%} "
            f"{g['anywhere_accuracy']:>9.1%} {g['wrong_field_readings']:>6}"
        )
    for style, s in results["by_style"].items():
        rows.append(
            f"  all {style:<22} {'':>6} {s['field_accuracy']:>7.1%}   (goal {s['goal']:.0%});"
            f" proposed (field confidence >= PROPOSE_AT): right {s['right_value_proposed']:.1%},"
            f" wrong {s['wrong_value_proposed']:.1%}"
        )
    return (
        f"OCR assist {results['engine_version']}: {results['photos']} photos of "
        f"{results['cards']} cards, {results['seconds_per_photo']:.2f} s per photo\n"
        + "\n".join(rows)
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    results["report"] = report(results)
    common.publish("ocr", results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

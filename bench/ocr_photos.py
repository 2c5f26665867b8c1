"""The OCR workflow on photographed cards made differently from the demo's.

    .venv/bin/python bench/ocr_photos.py [--n 80] [--seed 15] [--out DIR] [--workdir DIR]
                                         [--jobs 2] [--direct [--find-card]] [--generate-only]
                                         [--json]

Generates (or reuses) ``--n`` photographs of index cards with ``bench/ocr_photos_data.py`` in
``--out`` (default ``WORKDIR/ocr-photos-<n>-<seed>``: ``photos/*.jpg`` and ``truth.json``),
then runs Dalil's workflow on them in a fresh vault, as the commands do it: ingest (``dalil
ingest``), ``model.propose`` + ``model.accept`` (``dalil cases propose`` / ``accept``: a lone
photograph becomes a proposed case) and ``reading.read_cases`` (``dalil cases ocr``). Each
field (detainee, branch, report) of each photograph is then scored from the OCR claims made
on that photograph:

* ``right``: the right value was proposed for the field (and no other);
* ``both``: the right value and a wrong one;
* ``wrong``: only wrong values;
* ``nothing``: no value;

``right value proposed`` is right + both, ``wrong value proposed`` wrong + both. ``anywhere``:
the value was read somewhere on the photograph, whatever field it got (or none). Reported
overall and per digit system, style (print / handwriting-like), layout, labels and font list
(tuning / held-out). ``--direct`` skips the vault and calls ``read_numbers`` on the same
reduced decode (faster while developing; claims are then readings with a valid value for
their field and a field confidence at least ``PROPOSE_AT``, as ``cases ocr`` proposes them);
``--find-card`` then cuts the card out and reads it upright first. Also
measured: how close :func:`dalil.ocr.rectify.find_card` comes to each card's true corners.
Nothing is asserted. Results go to stdout and ``bench/out/ocr_photos-*.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import common
import ocr_photos_data as data

FIELDS = data.FIELDS
PASSWORD = "bench password 12345"
SLICES = ("digits", "style", "digits/style", "layout", "labels", "font_set")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=80, help="photographs (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=15, help="set seed (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None, help="where the set is generated")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=common.DEFAULT_WORKDIR,
        help="default parent of --out and of the vault (default: %(default)s)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for ingest and OCR")
    parser.add_argument(
        "--direct", action="store_true", help="read_numbers on each photo, no vault"
    )
    parser.add_argument(
        "--find-card",
        action="store_true",
        help="with --direct: cut each card out and read it upright (read_numbers(find_card=True))",
    )
    parser.add_argument(
        "--generate-only", action="store_true", help="write the set and its truth, then stop"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")
    if args.out is None:
        args.out = args.workdir / f"ocr-photos-{args.n}-{args.seed}"
    return args


# ---------------------------------------------------------------------------- reading


Claims = dict[str, dict[str, list[str]]]  # sha256 -> field -> values proposed
Read = dict[str, set[str]]  # sha256 -> every value read


def workflow(args: argparse.Namespace) -> tuple[Claims, Read, dict[str, Any]]:
    """Ingest, propose, accept and read in a fresh vault; the claims the readings made."""
    from dalil.cases import model, reading
    from dalil.ingest.session import IngestOptions, IngestSession
    from dalil.vault import Vault

    root = args.workdir / f"ocr-photos-vault-{args.n}-{args.seed}"
    common.remove(root)
    vault = Vault.init(root, "bench", PASSWORD)
    started = time.perf_counter()
    options = IngestOptions(
        [args.out / "photos"], "bench: photographed cards", "bench", jobs=args.jobs
    )
    IngestSession(vault, options).run()
    ingest_s = time.perf_counter() - started
    conn = vault.connect()
    ledger = vault.ledger(conn)
    actor = model.Actor("bench")
    made = model.propose(conn, ledger, actor)
    model.accept(conn, ledger, actor, made)
    started = time.perf_counter()
    report = reading.read_cases(vault, conn, ledger, actor, jobs=args.jobs)
    ocr_s = time.perf_counter() - started
    claims: Claims = defaultdict(lambda: defaultdict(list))
    for item, field, value in conn.execute(
        "SELECT item, field, value FROM annotations WHERE source LIKE 'ocr:%'"
    ):
        claims[str(item)][str(field)].append(str(value))
    read: Read = defaultdict(set)
    for sha, readings in conn.execute("SELECT sha256, readings FROM ocr_runs"):
        read[str(sha)] |= {str(r["value"]) for r in json.loads(readings)}
    in_case = {str(r[0]) for r in conn.execute("SELECT sha256 FROM case_items")}
    conn.close()
    common.remove(root)
    info = {
        "cases_proposed": len(made),
        "photos_in_a_case": len(in_case),
        "ingest_seconds": round(ingest_s, 1),
        "ocr_seconds": round(ocr_s, 1),
        "ocr": report.to_dict(),
    }
    return claims, read, info


def direct(
    args: argparse.Namespace, cards: list[data.CardPlan]
) -> tuple[Claims, Read, dict[str, Any]]:
    """``read_numbers`` on the reduced decode ``cases ocr`` reads, without a vault."""
    from dalil.cases import reading
    from dalil.cases import vocabulary as vocab
    from dalil.errors import UsageError
    from dalil.ingest import decode
    from dalil.ocr import read_numbers
    from dalil.ocr.confidence import PROPOSE_AT

    types = {t.name: t for t in vocab.BUILTIN_IDENTIFIERS}
    claims: Claims = defaultdict(lambda: defaultdict(list))
    read: Read = defaultdict(set)
    started = time.perf_counter()
    for k, card in enumerate(cards, 1):
        image = decode.reduced_image(args.out / card.photo, reading.READ_SIDE)
        if image is None:
            continue
        for r in read_numbers(image, find_card=args.find_card):
            read[card.sha256].add(r.value)
            if r.field in types and r.field_confidence >= PROPOSE_AT:
                try:
                    value = vocab.validate_identifier(types[r.field], r.value)
                except UsageError:
                    continue
                if value not in claims[card.sha256][r.field]:
                    claims[card.sha256][r.field].append(value)
        if k % 10 == 0:
            common.log(f"  read {k}/{len(cards)} photographs")
    return claims, read, {"ocr_seconds": round(time.perf_counter() - started, 1)}


# ---------------------------------------------------------------------------- scoring


def cards_found(args: argparse.Namespace, cards: list[data.CardPlan]) -> dict[str, Any]:
    """How well ``dalil.ocr.rectify.find_card`` finds each card on the decode ``cases ocr``
    reads: the worst corner's distance from the truth, as a share of the card's diagonal."""
    import numpy as np

    from dalil.cases import reading
    from dalil.ingest import decode
    from dalil.ocr.rectify import find_card

    errors: list[float] = []
    missed = 0
    seconds = 0.0
    for card in cards:
        image = decode.reduced_image(args.out / card.photo, reading.READ_SIDE)
        if image is None:
            missed += 1
            continue
        started = time.perf_counter()
        quad = find_card(np.asarray(image.convert("RGB")))
        seconds += time.perf_counter() - started
        truth = np.array(card.quad) * (image.width / data.FRAME[0])
        if quad is None:
            missed += 1
            continue
        diagonal = float(np.linalg.norm(truth[2] - truth[0]))
        errors.append(float(np.linalg.norm(quad - truth, axis=1).max()) / diagonal)
    n = len(cards)
    return {
        "photos": n,
        "not_found": missed,
        "within_2pc": round(sum(e <= 0.02 for e in errors) / n, 4),
        "within_5pc": round(sum(e <= 0.05 for e in errors) / n, 4),
        "median_corner_error": round(float(np.median(errors)), 4) if errors else None,
        "seconds_per_photo": round(seconds / max(1, n), 3),
    }


def _outcome(truth: str, values: list[str]) -> str:
    right = truth in values
    wrong = any(v != truth for v in values)
    return "both" if right and wrong else "right" if right else "wrong" if wrong else "nothing"


def _keys(card: data.CardPlan) -> dict[str, str]:
    return {
        "digits": card.digits,
        "style": card.style,
        "digits/style": f"{card.digits}/{card.style}",
        "layout": card.layout,
        "labels": card.labels,
        "font_set": card.font_set,
    }


def score(cards: list[data.CardPlan], claims: Claims, read: Read) -> dict[str, Any]:
    tally: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    misses: list[dict[str, Any]] = []
    for card in cards:
        got = claims.get(card.sha256, {})
        for name in FIELDS:
            truth = card.fields[name]
            values = list(got.get(name, []))
            outcome = _outcome(truth, values)
            anywhere = truth in read.get(card.sha256, set())
            for slice_name, key in [("all", "all"), *_keys(card).items()]:
                t = tally[slice_name][key]
                t["fields"] += 1
                t[outcome] += 1
                t["anywhere"] += anywhere
            if outcome != "right":
                misses.append(
                    {
                        "photo": card.photo,
                        "field": name,
                        "truth": truth,
                        "proposed": values,
                        "read_anywhere": anywhere,
                        **_keys(card),
                    }
                )
    out: dict[str, Any] = {}
    for slice_name, groups in tally.items():
        out[slice_name] = {}
        for key in sorted(groups):
            t = groups[key]
            n = t["fields"]
            out[slice_name][key] = {
                "fields": n,
                "right_value_proposed": round((t["right"] + t["both"]) / n, 4),
                "wrong_value_proposed": round((t["wrong"] + t["both"]) / n, 4),
                "nothing_proposed": round(t["nothing"] / n, 4),
                "read_anywhere": round(t["anywhere"] / n, 4),
                "counts": {k: t[k] for k in ("right", "both", "wrong", "nothing")},
            }
    return {"slices": out, "misses": misses}


def report(results: dict[str, Any]) -> str:
    head = f"  {'slice':<30} {'fields':>6} {'right':>7} {'wrong':>7} {'nothing':>8} {'anywhere':>9}"
    rows = [head]
    for slice_name in ("all", *SLICES):
        for key, s in results["slices"].get(slice_name, {}).items():
            name = "all" if slice_name == "all" else f"{slice_name}: {key}"
            rows.append(
                f"  {name:<30} {s['fields']:>6} {s['right_value_proposed']:>7.1%} "
                f"{s['wrong_value_proposed']:>7.1%} {s['nothing_proposed']:>8.1%} "
                f"{s['read_anywhere']:>9.1%}"
            )
    mode = "read_numbers directly" if results["direct"] else "ingest → propose → accept → ocr"
    if results["find_card"]:
        mode += ", card cut out first"
    f = results["cards_found"]
    found = (
        f"  card found (rectify.find_card): {f['within_2pc']:.1%} of photos with every corner"
        f" within 2 % of the diagonal, {f['within_5pc']:.1%} within 5 %, {f['not_found']} not"
        f" found, {f['seconds_per_photo']:.3f} s per photo"
    )
    return (
        f"OCR on photographed cards ({results['generator']}, seed {results['seed']}), "
        f"{results['photos']} photos, {mode}, engine {results['engine_version']}, "
        f"{results['ocr_seconds_per_photo']:.2f} s per photo"
        f" ({results['ocr_over_decode']}x the time of djpeg -scale 1/2 on the same photos)\n"
        + "\n".join(rows)
        + "\n"
        + found
    )


def decode_floor(args: argparse.Namespace) -> dict[str, Any]:
    """The same run's baseline: ``djpeg -scale 1/2`` of every photograph on ``--jobs``
    processes — the reduced decode ``cases ocr`` starts from, and nothing else."""
    djpeg = shutil.which("djpeg")
    files = sorted(p.name for p in (args.out / "photos").glob("*.jpg"))
    if djpeg is None or not files:
        return {"seconds": None, "command": "djpeg not found (apt-get install libjpeg-turbo-progs)"}
    done = common.xargs_pass(
        "djpeg",
        [Path(f) for f in files],
        args.out / "photos",
        max(1, args.jobs or (os.cpu_count() or 1)),
        1,
        [djpeg, "-scale", "1/2", "-outfile", "/dev/null"],
    )
    return {"seconds": round(done.seconds, 2), "command": done.command}


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    common.log(f"photographs in {args.out} ...")
    cards = data.generate(args.out, args.n, args.seed, common.log)
    if args.generate_only:
        return None
    from dalil.ocr import ENGINE_VERSION

    claims, read, info = direct(args, cards) if args.direct else workflow(args)
    floor = decode_floor(args)
    scored = score(cards, claims, read)
    found = cards_found(args, cards)
    fonts = data.fonts()
    return {
        "generator": data.GENERATOR,
        "seed": args.seed,
        "photos": len(cards),
        "direct": args.direct,
        "find_card": args.find_card,
        "cards_found": found,
        "engine_version": ENGINE_VERSION,
        "ocr_seconds_per_photo": round(info["ocr_seconds"] / max(1, len(cards)), 3),
        "decode_floor": floor,
        "ocr_over_decode": (
            round(info["ocr_seconds"] / floor["seconds"], 1) if floor["seconds"] else None
        ),
        "workflow": info,
        "fonts": {
            "tuning": [f.name for f in fonts if not f.held_out],
            "held-out": [f.name for f in fonts if f.held_out],
        },
        **scored,
        "machine": common.machine(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    if results is None:
        print(f"{args.n} photographs and truth.json in {args.out}")
        return 0
    results["report"] = report(results)
    common.publish("ocr_photos", results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

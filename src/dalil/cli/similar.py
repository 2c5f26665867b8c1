"""``dalil similar``: where else is this image — in the vault, across every acquisition?"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from dalil.catalog.queries import item_detail, resolve_item
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    JsonOption,
    VaultOption,
    actor_name,
    app,
    console,
    emit_json,
    reading,
    shown,
)
from dalil.cli.ingest import run_ingest
from dalil.errors import UsageError
from dalil.similar.words import describe


@app.command()
def similar(
    item: Annotated[str | None, typer.Argument(help="An item hash or prefix.")] = None,
    image: Annotated[
        Path | None, typer.Option("--image", help="A file outside the vault (not ingested).")
    ] = None,
    threshold: Annotated[
        int | None, typer.Option("--threshold", help="PDQ distance for a match (default 31).")
    ] = None,
    candidates: Annotated[
        int,
        typer.Option(
            "--candidates",
            help="How many nearest fingerprints, and how many images with the most keypoint"
            " votes, are checked with local features (crops, rotations, same scene).",
        ),
    ] = 24,
    thorough: Annotated[
        bool,
        typer.Option(
            "--thorough",
            help="Check every image with local features (slow on large vaults; the short list"
            " can miss a picture this finds).",
        ),
    ] = False,
    parts: Annotated[
        bool,
        typer.Option(
            "--parts/--no-parts",
            help="Also look for each quarter and half of the picture (a collage tile, one photo"
            " of a screenshotted post).",
        ),
    ] = True,
    ingest: Annotated[
        str | None,
        typer.Option("--ingest", help="Also ingest --image, recording where it came from."),
    ] = None,
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Find copies (resized, re-compressed, flipped, cropped) and other shots of the same scene."""
    from dalil.similar.index import CODE_BYTES, fingerprint_rows
    from dalil.similar.links import VaultFeatures, open_indexes
    from dalil.similar.matcher import (
        Matcher,
        Probe,
        Thresholds,
        fingerprint_image,
        given,
        mirrored_features,
        part_probes,
        query_view,
    )

    if (item is None) == (image is None):
        raise UsageError("give either an ITEM or --image FILE")
    with reading(vault) as (opened, conn):
        # An interactive query can afford a longer short list than ingest-time grouping.
        base = Thresholds.from_settings(opened.settings)
        settings = replace(
            base,
            threshold=base.threshold if threshold is None else threshold,
            candidates=max(1, candidates),
            radius=CODE_BYTES * 8,
        )
        features = VaultFeatures(opened)
        index, keypoints = open_indexes(opened, conn, features)
        if thorough:
            settings = replace(settings, candidates=max(1, len(index)))
        matcher = Matcher(index, features, settings, keypoints, query=True)
        exclude: str | None = None
        if item is not None:
            exclude = resolve_item(conn, item)
            names, blocks, quality = fingerprint_rows(conn, [exclude])
            if not names:
                raise UsageError(f"sha256:{exclude} has no fingerprint (not a decodable image)")
            code, level = blocks[0][:CODE_BYTES], quality[0]
            view = query_view(opened.store().local_path(exclude))  # None when the original is lost
            own = partial(features, exclude)
        else:
            assert image is not None
            try:
                data = image.read_bytes()
            except OSError as exc:
                raise UsageError(f"{image}: {exc.strerror or exc}") from exc
            fp = fingerprint_image(data)
            if fp is None:
                raise UsageError(f"{image}: not a decodable image")
            code, level, view = fp.code, fp.quality, query_view(data)
            own = partial(given, fp.features)
        probe = Probe(code, level, own, partial(mirrored_features, view))
        matches = matcher.match(probe, exclude=exclude)
        if parts:
            matches = matcher.match_parts(part_probes(view), matches, exclude=exclude)
        rows: list[dict[str, Any]] = []
        for m in matches:
            detail = item_detail(conn, m.item)
            rows.append(
                {
                    **m.to_dict(),
                    "evidence": describe(
                        m.stage, m.variant, m.distance, m.inliers, covered=m.covered
                    ),
                    "media_type": detail["media_type"],
                    "occurrences": detail["occurrences"],
                }
            )
    query: dict[str, Any] = {"item": exclude} if exclude else {"image": str(image)}
    if image is not None and ingest:
        from dalil.ingest.session import IngestOptions

        report = run_ingest(opened, IngestOptions([image], ingest, actor_name(as_)))
        query["ingested"] = report.to_dict()
    if json_:
        emit_json({"query": query, "matches": rows})
        return
    if not rows:
        console.print("No near-duplicate or same-scene image in the vault.")
        return
    table = Table(title=f"{len(rows)} match(es)")
    for column in ("item", "how", "PDQ distance", "inliers", "found in"):
        table.add_column(column, overflow="fold")
    for row in rows:
        places = "; ".join(f"{o['acquisition']}: {o['path']}" for o in row["occurrences"][:3])
        how = row["evidence"]
        table.add_row(
            row["item"][:12],
            how,
            str(row["distance"]),
            "" if row["inliers"] is None else str(row["inliers"]),
            shown(places),
        )
    console.print(table)

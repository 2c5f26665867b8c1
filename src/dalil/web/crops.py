"""The region a claim was read from, enlarged for its reviewer — blurred until they ask.

An OCR reading records the photograph and the region (``[left, top, right, bottom]`` in the
original's upright pixels) its value was read from. The review page shows that region with a
margin, enlarged to :data:`CROP_WIDTH` pixels, so the reviewer compares the value with what is
written. The crop is picture content: it is served blurred, in the user's look, until the
reviewer presses *show* — an ``item.revealed`` ledger event that names the region (and the
claim), allowed only to roles with the ``reveal`` permission. The unblurred crop is then sent
to that session for :data:`~dalil.web.images.REVEAL_SECONDS`; a session that revealed the
whole picture may see the crop too.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from markupsafe import escape
from PIL import Image

from dalil import i18n
from dalil.cases import model
from dalil.ingest import decode
from dalil.store import write_atomic
from dalil.vault import Vault
from dalil.web import auth, images
from dalil.web.auth import Browse, Reveal
from dalil.web.guard import GuardedRoute
from dalil.web.images import LookParam
from dalil.web.params import AnnotationId
from dalil.web.redirects import current_page
from dalil.web.render import language_of

router = APIRouter(route_class=GuardedRoute)

CROP_WIDTH = 480
"""Width in pixels of the enlarged crop (its height follows the region's shape)."""

MARGIN = 0.25
"""Context kept around the region, as a share of its width and height on each side."""

MAX_HEIGHT = 2 * CROP_WIDTH
"""A tall, narrow region is shown at most this high (and narrower)."""


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


def upright_size(path: Path) -> tuple[int, int] | None:
    """The original's width and height as it is meant to be seen (EXIF orientation applied),
    read from its header only."""
    try:
        with Image.open(path) as im:
            width, height = im.size
            orientation = im.getexif().get(0x0112, 1)
    except Exception:
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def crop_box(region: list[int], size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """``region`` with :data:`MARGIN` around it, inside a picture of ``size``; None when the
    region is not a box inside the picture."""
    left, top, right, bottom = (int(v) for v in region)
    width, height = size
    if right <= left or bottom <= top or right <= 0 or bottom <= 0:
        return None
    if left >= width or top >= height:
        return None
    dx, dy = math.ceil((right - left) * MARGIN), math.ceil((bottom - top) * MARGIN)
    return (max(0, left - dx), max(0, top - dy), min(width, right + dx), min(height, bottom + dy))


def claim_region(request: Request, annotation: int) -> tuple[str, list[int]]:
    """The photograph and region claim ``annotation`` was read from (404 if it has none)."""
    with auth.connection(_vault(request)) as conn:
        row = model.annotation_row(conn, annotation)
    region = row.get("region")
    if not row.get("item") or not isinstance(region, list) or len(region) != 4:
        raise HTTPException(404, f"claim {annotation} was not read from a region of a photograph")
    return str(row["item"]), [int(v) for v in region]


def _suffix(region: list[int]) -> str:
    return "-" + "-".join(str(v) for v in region) + ".jpg"


def enlarged_crop(vault: Vault, sha: str, region: list[int]) -> Path:
    """The unblurred, enlarged crop of ``region`` (cached as a derivative, ``review-crop``)."""
    cached = vault.derived_path("review-crop", sha, _suffix(region))
    if cached.is_file():
        return cached
    path = vault.store().local_path(sha)
    size = upright_size(path)
    box = crop_box(region, size) if size else None
    if size is None or box is None:
        raise HTTPException(404, "this region is not inside a picture Dalil can show")
    # decode only as many pixels as the enlarged crop needs (JPEG DCT scaling)
    wanted = min(1.0, CROP_WIDTH / max(1, box[2] - box[0]))
    image = decode.reduced_image(path, max(1, math.ceil(min(size) * wanted)))
    if image is None:
        raise HTTPException(404, "this item cannot be shown as a picture")
    sx, sy = image.width / size[0], image.height / size[1]
    part = image.convert("RGB").crop(
        (
            math.floor(box[0] * sx),
            math.floor(box[1] * sy),
            max(math.floor(box[0] * sx) + 1, math.ceil(box[2] * sx)),
            max(math.floor(box[1] * sy) + 1, math.ceil(box[3] * sy)),
        )
    )
    scale = min(CROP_WIDTH / part.width, MAX_HEIGHT / part.height)
    part = part.resize(
        (max(1, round(part.width * scale)), max(1, round(part.height * scale))),
        Image.Resampling.LANCZOS,
    )
    buffer = io.BytesIO()
    part.save(buffer, "JPEG", quality=90)
    write_atomic(cached, buffer.getvalue(), vault.tmp_dir, fsync=False)
    return cached


def blurred_crop(vault: Vault, sha: str, region: list[int], level: int, greyscale: bool) -> bytes:
    """The enlarged crop blurred in a look (cached as ``review-crop-blur-<look>``)."""
    kind = f"review-crop-blur-{level}{'g' if greyscale else 'c'}"
    cached = vault.derived_path(kind, sha, _suffix(region))
    if cached.is_file():
        return cached.read_bytes()
    with Image.open(enlarged_crop(vault, sha, region)) as im:
        data = images.blur(im, level, greyscale)
    write_atomic(cached, data, vault.tmp_dir, fsync=False)
    return data


def shown(request: Request, sha: str, region: list[int], known: set[str] | None = None) -> bool:
    """May this session see the crop unblurred now (it revealed the region or the item)?"""
    found = images.grants(request) if known is None else known
    return not found.isdisjoint((sha, images.region_grant(sha, region)))


@router.get("/review/{annotation}/crop")
def crop(
    request: Request, annotation: AnnotationId, user: Browse, look: LookParam = None
) -> Response:
    """The region claim ``annotation`` was read from, enlarged and blurred in the user's look."""
    sha, region = claim_region(request, annotation)
    moved = images.stale_look(request, user, look)
    if moved is not None:
        return moved
    data = blurred_crop(_vault(request), sha, region, user.blur, user.greyscale)
    return images.blurred_response(look, data)


@router.post("/review/{annotation}/crop/reveal")
def crop_reveal(request: Request, annotation: AnnotationId, user: Reveal) -> Response:
    """Record that this user looks at the region unblurred (``item.revealed`` with the region
    and the claim), then send it to this session for a few minutes."""
    sha, region = claim_region(request, annotation)
    enlarged_crop(_vault(request), sha, region)  # a region that cannot be shown is no reveal
    details: dict[str, Any] = {"via": "web review", "region": region, "annotation": annotation}
    images.record_reveal(request, user, sha, images.region_grant(sha, region), details)
    if request.headers.get("hx-request"):
        gettext = i18n.translations(language_of(request, user)).gettext
        alt = escape(gettext("the region the value was read from, unblurred"))
        return Response(
            f'<img class="crop revealed" src="/review/{annotation}/crop/view" alt="{alt}">',
            media_type="text/html",
        )
    return RedirectResponse(current_page(request, "/review"), status_code=303)


@router.get("/review/{annotation}/crop/view")
def crop_view(request: Request, annotation: AnnotationId, user: Reveal) -> Response:
    """The region unblurred and enlarged — only after this session revealed it (or the item)."""
    sha, region = claim_region(request, annotation)
    if not shown(request, sha, region):
        raise HTTPException(428, "show the region first (each reveal is recorded)")
    return FileResponse(
        enlarged_crop(_vault(request), sha, region),
        media_type="image/jpeg",
        headers={"Cache-Control": "no-store"},
    )

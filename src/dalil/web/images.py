"""Images in the browser: blurred by default, unblurred only after a logged "reveal".

Thumbnails are blurred (and greyscale, unless the user chose otherwise) on the server, from
the stored thumbnail derivative; the blurred copies are cached as derivatives of their own
(``thumb-blur-<look>``). The user's *look* (blur level and colour, e.g. ``3g``) is part of
every thumbnail's URL (``?look=3g``), so a changed setting is a new URL: the browser shows the
new blur at once instead of its cached copy. The unblurred picture — a preview decoded at
reduced size, or the original file — is sent only within a few minutes after the same session
asked to reveal that item: the reveal is a ledger event (who, which item, when). The
family-liaison role may not reveal at all.
"""

from __future__ import annotations

import io
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from markupsafe import escape
from PIL import Image, ImageFilter, ImageOps

from dalil import i18n, users
from dalil.catalog import atomic
from dalil.catalog.queries import resolve_item
from dalil.ingest import decode
from dalil.ingest.worker import THUMBNAIL_KIND
from dalil.store import write_atomic
from dalil.vault import Vault
from dalil.web import auth
from dalil.web.auth import Browse, Reveal
from dalil.web.guard import GuardedRoute
from dalil.web.render import language_of, look_of

router = APIRouter(route_class=GuardedRoute)

REVEAL_SECONDS = 10 * 60
BLUR_RADIUS = {1: 3, 2: 6, 3: 10, 4: 16}
"""Gaussian blur radius (px, on a thumbnail of at most 256 px) per user blur level."""

PREVIEW_SIDE = 1600

PLACEHOLDER = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="192" viewBox="0 0 256 192">'
    '<rect width="256" height="192" fill="#d9d9d9"/><text x="128" y="100" font-size="16"'
    ' text-anchor="middle" fill="#555" font-family="sans-serif">{words}</text></svg>'
)
"""What stands for an item that has no picture (``{words}``: "no picture", translated)."""


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.vault
    return vault


LookParam = Annotated[
    str | None,
    Query(
        pattern=rf"^[{min(users.BLUR_LEVELS)}-{max(users.BLUR_LEVELS)}][gc]$",
        description="The user's blur level and colour (e.g. 3g): part of the URL so that a"
        " changed setting is a new address, never an old copy from the browser's cache.",
    ),
]


def blur(picture: Image.Image, level: int, greyscale: bool) -> bytes:
    """``picture`` blurred at ``level`` (greyscale if asked), as JPEG bytes. The picture is
    shrunk first: detail that is not sent cannot be recovered by de-blurring."""
    picture = picture.convert("L" if greyscale else "RGB")
    radius = BLUR_RADIUS.get(level, BLUR_RADIUS[3]) * max(picture.size) / 256
    small = picture.resize((max(1, picture.width // 4), max(1, picture.height // 4)))
    out = small.resize(picture.size, Image.Resampling.BILINEAR).filter(
        ImageFilter.GaussianBlur(radius)
    )
    buffer = io.BytesIO()
    out.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def blurred_thumbnail(vault: Vault, sha256: str, level: int, greyscale: bool) -> bytes | None:
    kind = f"thumb-blur-{level}{'g' if greyscale else 'c'}"
    cached = vault.derived_path(kind, sha256, ".jpg")
    if cached.is_file():
        return cached.read_bytes()
    source = vault.derived_path(THUMBNAIL_KIND, sha256, ".jpg")
    if not source.is_file():
        return None
    with Image.open(source) as im:
        data = blur(im, level, greyscale)
    write_atomic(cached, data, vault.tmp_dir, fsync=False)
    return data


def stale_look(request: Request, user: users.User, look: str | None) -> Response | None:
    """A blurred image asked for in an older look than the user's (a page from before the
    setting changed) is sent to the current look's URL; None when the look is current."""
    current = look_of(user)
    if look is None or look == current:
        return None
    query = request.url.include_query_params(look=current).query
    return RedirectResponse(f"{request.url.path}?{query}", status_code=303)


def blurred_response(look: str | None, data: bytes) -> Response:
    """A blurred JPEG in the user's current look. Asked for by its look (``?look=``), the
    browser may keep it for an hour: another look is another URL. Asked for without one, it
    is sent as it is now and not reused."""
    cache = "private, max-age=3600" if look is not None else "private, no-cache"
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": cache})


@router.get("/items/{ref}/thumb")
def thumb(request: Request, ref: str, user: Browse, look: LookParam = None) -> Response:
    vault = _vault(request)
    with auth.connection(vault) as conn:
        sha = resolve_item(conn, ref)
    moved = stale_look(request, user, look)
    if moved is not None:
        return moved
    data = blurred_thumbnail(vault, sha, user.blur, user.greyscale)
    if data is None:
        gettext = i18n.translations(language_of(request, user)).gettext
        shown = PLACEHOLDER.format(words=escape(gettext("no picture")))
        return Response(shown, media_type="image/svg+xml")
    return blurred_response(look, data)


def record_reveal(
    request: Request, user: users.User, sha: str, grant: str, details: dict[str, Any]
) -> None:
    """Record (``item.revealed``: who, which item, ``details``) that ``user`` looks at an
    unblurred picture or part of one, and let this session see ``grant`` — the item's hash,
    or :func:`region_grant` — for :data:`REVEAL_SECONDS`. One transaction: no grant without
    its event."""
    vault = _vault(request)
    session = auth.session_of(request)
    assert session is not None
    # one transaction (SQLite serialises writers; ingest may run meanwhile)
    with auth.connection(vault, readonly=False) as conn, atomic(conn):
        vault.ledger(conn).append(
            user.name, "item.revealed", f"sha256:{sha}", {"sha256": sha, **details}
        )
        conn.execute(
            "INSERT INTO reveal_grants (token_hash, sha256, until) VALUES (?, ?, ?)"
            " ON CONFLICT (token_hash, sha256) DO UPDATE SET until = excluded.until",
            (session.token_hash, grant, time.time() + REVEAL_SECONDS),
        )
        conn.execute("DELETE FROM reveal_grants WHERE until < ?", (time.time() - 3600,))


def region_grant(sha: str, region: list[int]) -> str:
    """What a reveal of one region of an item grants (the whole item's grant is its hash)."""
    return f"{sha}@{','.join(str(v) for v in region)}"


@router.post("/items/{ref}/reveal")
def reveal(request: Request, ref: str, user: Reveal) -> Response:
    """Record that this user looks at the unblurred picture, then allow it for a while."""
    with auth.connection(_vault(request)) as conn:
        sha = resolve_item(conn, ref)
    record_reveal(request, user, sha, sha, {"via": "web"})
    if request.headers.get("hx-request"):
        gettext = i18n.translations(language_of(request, user)).gettext
        alt = escape(gettext("unblurred picture"))
        return Response(
            f'<img class="revealed" src="/items/{sha}/view" alt="{alt}">', media_type="text/html"
        )
    return RedirectResponse(f"/items/{sha}?revealed=1", status_code=303)


def grants(request: Request) -> set[str]:
    """What this session may see unblurred now (item hashes and :func:`region_grant` s)."""
    session = auth.session_of(request)
    if session is None:
        return set()
    with auth.connection(request.app.state.vault) as conn:
        rows = conn.execute(
            "SELECT sha256 FROM reveal_grants WHERE token_hash = ? AND until > ?",
            (session.token_hash, time.time()),
        ).fetchall()
    return {str(r[0]) for r in rows}


def grant_until(request: Request, sha: str) -> float | None:
    """Until when (epoch seconds) this session sees the item unblurred; None if it does not."""
    session = auth.session_of(request)
    if session is None:
        return None
    with auth.connection(request.app.state.vault) as conn:
        row = conn.execute(
            "SELECT until FROM reveal_grants WHERE token_hash = ? AND sha256 = ? AND until > ?",
            (session.token_hash, sha, time.time()),
        ).fetchone()
    return float(row[0]) if row else None


@router.post("/items/{ref}/hide")
def hide(request: Request, ref: str, user: Browse) -> Response:
    """Blur the picture again for this session now, before its reveal expires."""
    session = auth.session_of(request)
    with auth.connection(_vault(request), readonly=False) as conn:
        sha = resolve_item(conn, ref)
        if session is not None:
            with atomic(conn):
                conn.execute(
                    "DELETE FROM reveal_grants WHERE token_hash = ? AND (sha256 = ? OR sha256"
                    " LIKE ?)",
                    (session.token_hash, sha, f"{sha}@%"),
                )
    return RedirectResponse(f"/items/{sha}", status_code=303)


def granted(request: Request, sha: str, *also: str) -> bool:
    """Has this session revealed this item (or any of ``also``, e.g. a region of it) within
    the last :data:`REVEAL_SECONDS`?"""
    return not grants(request).isdisjoint((sha, *also))


@router.get("/items/{ref}/view")
def view(request: Request, ref: str, user: Reveal) -> Response:
    """The unblurred picture at reduced size — only after a reveal."""
    vault = _vault(request)
    with auth.connection(vault) as conn:
        sha = resolve_item(conn, ref)
    if not granted(request, sha):
        raise HTTPException(428, "reveal the picture first (each reveal is recorded)")
    cached = vault.derived_path("preview", sha, ".jpg")
    if not cached.is_file():
        image = decode.reduced_image(vault.store().local_path(sha), PREVIEW_SIDE)
        if image is None:
            raise HTTPException(404, "this item cannot be shown as a picture")
        image = image.convert("RGB")
        image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        buffer = io.BytesIO()
        ImageOps.exif_transpose(image).save(buffer, "JPEG", quality=85)
        write_atomic(cached, buffer.getvalue(), vault.tmp_dir, fsync=False)
    return FileResponse(cached, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/items/{ref}/original")
def original(request: Request, ref: str, user: Reveal) -> Response:
    """The original file, byte for byte — only after a reveal."""
    vault = _vault(request)
    with auth.connection(vault) as conn:
        sha = resolve_item(conn, ref)
        media = conn.execute("SELECT media_type FROM items WHERE sha256 = ?", (sha,)).fetchone()[0]
    if not granted(request, sha):
        raise HTTPException(428, "reveal the item first (each reveal is recorded)")
    path = vault.store().local_path(sha)
    if not path.is_file():
        raise HTTPException(404, "the object store has no copy of this item (dalil verify)")
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=f"{sha}",
        headers={"Cache-Control": "no-store", "X-Dalil-Media-Type": str(media)},
    )

"""Near-duplicate links and clusters over a real vault, end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageOps

from dalil.demo.generate import generate_collection
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.vault import Vault
from tests.conftest import PASSWORD, catalogue, copy_vault, run_dalil


def _save(image: Image.Image, path: Path, quality: int = 85) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(path, "JPEG", quality=quality)
    return path


def _captioned(image: Image.Image, share: float = 0.3) -> Image.Image:
    """A caption band laid over the bottom ``share`` of the picture, as reposts add."""
    out = image.convert("RGB").copy()
    draw = ImageDraw.Draw(out)
    top = int(out.height * (1 - share))
    draw.rectangle((0, top, out.width, out.height), fill=(200, 20, 30))
    for k in range(3):
        draw.text((20, top + 15 + 30 * k), "BREAKING: shared 40,000 times " * 3, fill="white")
    return out


def _collage(image: Image.Image, where: int) -> Image.Image:
    """The picture as one tile (``where``: 0-3) of a 2x2 collage; the other tiles are plain
    shapes."""
    tw, th = image.width // 2, image.height // 2
    canvas = Image.new("RGB", (2 * tw + 24, 2 * th + 24), (255, 255, 255))
    for k in range(4):
        if k == where:
            tile = image.convert("RGB").resize((tw, th))
        else:
            tile = Image.new("RGB", (tw, th), (60 + 50 * k, 90, 140 - 30 * k))
            ImageDraw.Draw(tile).ellipse(
                (tw // 5, th // 5, tw // 2 + 20 * k, th // 2), fill="white"
            )
        canvas.paste(tile, (8 + (k % 2) * (tw + 8), 8 + (k // 2) * (th + 8)))
    return canvas


def _screenshot(image: Image.Image) -> Image.Image:
    """The photo as seen in a phone screenshot: scaled down inside UI bars."""
    inner = image.convert("RGB").resize((image.width * 2 // 5, image.height * 2 // 5))
    canvas = Image.new("RGB", (inner.width + 40, inner.height + 180), (245, 245, 245))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, canvas.width, 60), fill=(30, 30, 30))
    draw.text((15, 20), "12:41  Messages", fill=(255, 255, 255))
    draw.rectangle((0, canvas.height - 90, canvas.width, canvas.height), fill=(220, 220, 225))
    draw.text((20, canvas.height - 60), "forwarded many times", fill=(40, 40, 40))
    canvas.paste(inner, (20, 75))
    return canvas


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("similar")
    collection = base / "cards"
    manifest = generate_collection(collection, cards=5, seed=11, photo_size=(1024, 768))
    photos = [f for f in manifest.files if f.kind == "photo"]
    original = photos[0]
    src = Image.open(collection / original.path)
    src = ImageOps.exif_transpose(src)
    copies = base / "copies"
    w, h = src.size
    made = {
        "resized": _save(src.resize((w // 2, h // 2)), copies / "resized.jpg", 40),
        "flipped": _save(ImageOps.mirror(src), copies / "flipped.jpg"),
        "crop20": _save(
            src.crop((int(w * 0.1), int(h * 0.1), int(w * 0.9), h)), copies / "crop.jpg"
        ),
    }
    screenshot = _save(_screenshot(src), base / "query" / "screenshot.jpg")
    rotated = _save(src.rotate(8, expand=True), base / "query" / "rotated.jpg")
    mirrored_crop = _save(
        ImageOps.mirror(src).crop((int(w * 0.2), int(h * 0.05), int(w * 0.95), int(h * 0.85))),
        base / "query" / "mirrored-crop.jpg",
    )
    captioned = _save(_captioned(src), base / "query" / "captioned.jpg")
    other = generate_collection(base / "other", cards=1, seed=97, photo_size=(1024, 768))
    stranger = ImageOps.exif_transpose(
        Image.open(base / "other" / next(f.path for f in other.files if f.kind == "photo"))
    )
    sw, sh = stranger.size
    unrelated_mirrored = _save(
        ImageOps.mirror(stranger).crop(
            (int(sw * 0.2), int(sh * 0.05), int(sw * 0.95), int(sh * 0.85))
        ),
        base / "query" / "unrelated-mirrored-crop.jpg",
    )
    vault = Vault.init(base / "vault", "tester", PASSWORD)
    report = IngestSession(vault, IngestOptions([collection, copies], "test set", "tester")).run()
    assert "error" not in report.clusters, report.clusters

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    card_of = {sha(collection / f.path): f.card for f in photos if f.card}
    return {
        "vault": vault,
        "original": sha(collection / original.path),
        "original_path": collection / original.path,
        "card": original.card,
        "copies": {k: sha(p) for k, p in made.items()},
        "card_of": card_of,
        "screenshot": screenshot,
        "rotated": rotated,
        "mirrored_crop": mirrored_crop,
        "captioned": captioned,
        "negative": _save(ImageOps.invert(src.convert("RGB")), base / "query" / "negative.jpg"),
        "unrelated_negative": _save(
            ImageOps.invert(stranger.convert("RGB")), base / "query" / "other-negative.jpg"
        ),
        "collage": _save(_collage(src, 3), base / "query" / "collage.jpg"),
        "unrelated_collage": _save(_collage(stranger, 1), base / "query" / "other-collage.jpg"),
        "unrelated_captioned": _save(_captioned(stranger), base / "query" / "other-captioned.jpg"),
        "unrelated_mirrored": unrelated_mirrored,
    }


def _cluster_of(vault: Vault) -> dict[str, str]:
    conn = catalogue(vault)
    return dict(
        conn.execute(
            "SELECT m.sha256, c.label FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id"
        ).fetchall()
    )


def test_copies_land_in_the_originals_cluster(scene: dict) -> None:
    clusters = _cluster_of(scene["vault"])
    home = clusters[scene["original"]]
    for name, digest in scene["copies"].items():
        assert clusters.get(digest) == home, name


def test_how_each_copy_was_linked(scene: dict) -> None:
    conn = catalogue(scene["vault"])
    links = {
        (a, b): (stage, variant)
        for a, b, stage, variant in conn.execute(
            "SELECT a, b, stage, variant FROM pair_checks WHERE linked = 1"
        )
    }
    original = scene["original"]

    def link(other: str) -> tuple[str, str] | None:
        return links.get(tuple(sorted((original, other))))  # type: ignore[arg-type]

    assert link(scene["copies"]["resized"]) == ("pdq", "original")
    flipped = link(scene["copies"]["flipped"])
    assert flipped is not None and flipped[0] == "pdq" and flipped[1] != "original"
    crop = link(scene["copies"]["crop20"])
    assert crop is not None and crop[0] == "geometric"


def test_different_cards_never_share_a_cluster(scene: dict) -> None:
    clusters = _cluster_of(scene["vault"])
    cards_in: dict[str, set[str]] = {}
    for digest, card in scene["card_of"].items():
        if digest in clusters:
            cards_in.setdefault(clusters[digest], set()).add(card.card_id)
    assert all(len(cards) == 1 for cards in cards_in.values()), cards_in
    # shots of the same card are grouped: most photos are in some cluster
    assert sum(1 for d in scene["card_of"] if d in clusters) >= 0.8 * len(scene["card_of"])


def test_similar_image_finds_the_original_and_where_it_came_from(scene: dict) -> None:
    vault = scene["vault"]
    result = run_dalil("similar", "--image", scene["screenshot"], "--vault", vault.root, "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    found = {m["item"]: m for m in answer["matches"]}
    assert scene["original"] in found
    assert found[scene["original"]]["occurrences"][0]["acquisition"] == "A0001"
    conn = catalogue(vault)
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == len(
        {*_all_items(vault)}
    )  # the query image was not ingested


def _all_items(vault: Vault) -> list[str]:
    conn = catalogue(vault)
    return [r[0] for r in conn.execute("SELECT sha256 FROM items")]


def test_split_and_merge_survive_recompute(scene: dict, tmp_path: Path) -> None:

    root = tmp_path / "vault"
    copy_vault(scene["vault"].root, root)
    vault = Vault.open(root)
    clusters = _cluster_of(vault)
    label = clusters[scene["original"]]
    flipped = scene["copies"]["flipped"]
    out = run_dalil(
        "clusters", "split", label, flipped[:12], "--vault", root, "--as", "tester", "--json"
    )
    assert out.returncode == 0, out.stderr
    assert _cluster_of(vault).get(flipped) != _cluster_of(vault)[scene["original"]]
    assert run_dalil("clusters", "recompute", "--vault", root, "--as", "tester").returncode == 0
    after = _cluster_of(vault)
    assert after.get(flipped) != after[scene["original"]]
    other = next(d for d, c in clusters.items() if c != label)
    out = run_dalil(
        "clusters",
        "merge",
        after[scene["original"]],
        after[other],
        "--vault",
        root,
        "--as",
        "tester",
    )
    assert out.returncode == 0, out.stderr
    assert run_dalil("clusters", "recompute", "--vault", root, "--as", "tester").returncode == 0
    final = _cluster_of(vault)
    assert final[other] == final[scene["original"]]
    assert final.get(flipped) != final[scene["original"]]
    for action in ("cluster.split", "cluster.merged"):
        events = run_dalil("ledger", "events", "--action", action, "--vault", root, "--json")
        assert json.loads(events.stdout)["total"] == 1, action
    assert run_dalil("verify", "--vault", root).returncode == 0


def test_thorough_query_finds_a_rotated_copy(scene: dict) -> None:
    vault = scene["vault"]
    result = run_dalil(
        "similar", "--image", scene["rotated"], "--thorough", "--vault", vault.root, "--json"
    )
    assert result.returncode == 0, result.stderr
    found = {m["item"]: m for m in json.loads(result.stdout)["matches"]}
    assert found[scene["original"]]["stage"] == "geometric"


def _matches(scene: dict, query: str, *flags: str) -> dict[str, dict]:
    """``dalil similar --image`` on one of the scene's queries: its matches by item."""
    result = run_dalil(
        "similar", "--image", scene[query], *flags, "--vault", scene["vault"].root, "--json"
    )
    assert result.returncode == 0, result.stderr
    return {m["item"]: m for m in json.loads(result.stdout)["matches"]}


def test_a_mirrored_and_cropped_copy_is_found(scene: dict) -> None:
    """Neither its fingerprint (cropped) nor its keypoints (ORB is not mirror-invariant) match
    the original: the query's mirror image does."""
    found = _matches(scene, "mirrored_crop")
    assert scene["original"] in found, found
    match = found[scene["original"]]
    assert (match["stage"], match["variant"]) == ("geometric", "mirrored")
    assert match["evidence"].startswith("mirror image")
    assert _matches(scene, "unrelated_mirrored") == {}


def test_a_copy_with_a_caption_band_over_a_third_of_it_is_found(scene: dict) -> None:
    """The band agrees with nothing: the agreement is judged on the rest, and the evidence
    says how much was covered. The same band on another card finds nothing."""
    found = _matches(scene, "captioned")
    assert scene["original"] in found, found
    match = found[scene["original"]]
    assert match["stage"] == "geometric" and match["covered"] > 0.1, match
    assert "covered" in match["evidence"]
    assert _matches(scene, "unrelated_captioned") == {}


def test_a_collage_tile_is_found_by_the_part_that_holds_it(scene: dict) -> None:
    found = _matches(scene, "collage")
    assert scene["original"] in found, found
    assert _matches(scene, "unrelated_collage") == {}
    # the part that holds the picture finds it on its own (the whole collage may too)
    from dalil.similar.matcher import ImageSetMatcher, part_probes, query_view

    matcher = ImageSetMatcher([scene["original_path"]], parts=False).matcher
    by_part = matcher.match_parts(part_probes(query_view(scene["collage"])), [])
    assert [(m.item, m.variant) for m in by_part] == [("0", "part:bottom-right")], by_part
    assert matcher.match_parts(part_probes(query_view(scene["unrelated_collage"])), []) == []


def test_a_negative_is_found_by_the_complement_of_its_fingerprint(scene: dict) -> None:
    found = _matches(scene, "negative")
    assert scene["original"] in found, found
    match = found[scene["original"]]
    assert (match["stage"], match["variant"]) == ("pdq", "negative")
    assert "negative" in match["evidence"]
    assert _matches(scene, "unrelated_negative") == {}


def test_default_query_finds_a_rotated_copy_through_keypoint_votes(scene: dict) -> None:
    found = _matches(scene, "rotated")
    assert found[scene["original"]]["stage"] == "geometric"
    assert (scene["vault"].derived_dir / "index" / "orb.faiss").is_file()


def test_recompute_matches_only_items_never_matched(scene: dict, tmp_path: Path) -> None:

    root = tmp_path / "vault"
    copy_vault(scene["vault"].root, root)
    extra = tmp_path / "later"
    _save(Image.open(scene["rotated"]), extra / "rotated-copy.jpg")
    out = run_dalil(
        "ingest", extra, "--from", "later", "--no-group", "--vault", root, "--as", "tester"
    )
    assert out.returncode == 0, out.stderr

    def recompute(*flags: str) -> dict:
        result = run_dalil(
            "clusters", "recompute", *flags, "--vault", root, "--as", "tester", "--json"
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    first = recompute()
    assert first["items_rematched"] == 1  # only the item ingested with --no-group
    assert first["new_feature_links"] >= 1
    again = recompute()
    assert again["items_rematched"] == 0 and again["new_links"] == 0
    assert again["clusters"] == first["clusters"]
    everything = recompute("--rematch")
    conn = catalogue(Vault.open(root))
    images = conn.execute("SELECT COUNT(*) FROM fingerprints WHERE algorithm = 'pdq'").fetchone()
    assert everything["items_rematched"] == images[0]
    assert everything["clusters"] == first["clusters"]
    clusters = _cluster_of(Vault.open(root))
    rotated = hashlib.sha256((extra / "rotated-copy.jpg").read_bytes()).hexdigest()
    assert clusters[rotated] == clusters[scene["original"]]


def test_a_lost_original_gives_no_view_and_no_traceback(tmp_path: Path) -> None:
    """`dalil similar ITEM` on an item whose original is gone (a lost object) looks no further
    than its fingerprint and features: its mirror image and parts are simply not tried."""
    from dalil.similar.matcher import mirrored_features, part_probes, query_view

    view = query_view(tmp_path / "gone.jpg")
    assert view is None
    assert mirrored_features(view) is None and part_probes(view) == []

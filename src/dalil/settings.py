"""Vault settings: every setting declared once, with its default and its help text.

Settings live in ``dalil.toml`` under ``[settings]``; a test checks each one is documented in
docs/settings.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dalil.errors import VaultError

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: int | bool | str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("jobs", 0, "Worker processes for ingest and verify; 0 means one per CPU core."),
    Setting("fsync", True, "Flush every stored object to disk before it is catalogued."),
    Setting("thumbnail_size", 256, "Longest side, in pixels, of the thumbnail derivative."),
    Setting("thumbnail_quality", 80, "JPEG quality of thumbnails."),
    Setting(
        "max_image_pixels",
        150_000_000,
        "Images with more pixels are stored but not decoded (flagged decompression_bomb).",
    ),
    Setting(
        "in_memory_limit",
        64 * 1024 * 1024,
        "Files up to this many bytes are read into memory once; larger ones are streamed.",
    ),
    Setting("zip_max_depth", 3, "How deep zip archives inside zip archives are expanded."),
    Setting(
        "zip_max_ratio",
        200,
        "A zip member expanding more than this many times its compressed size is not expanded.",
    ),
    Setting(
        "zip_max_member_bytes",
        16 * 1024**3,
        "A zip member declaring more bytes than this is not expanded.",
    ),
    Setting("batch_size", 200, "Catalogue rows written per transaction during ingest."),
    Setting(
        "similar_threshold",
        31,
        "PDQ distance (of 256 bits) at or below which two images are near-duplicates.",
    ),
    Setting(
        "similar_min_quality",
        50,
        "PDQ quality below which a fingerprint alone never links two images (flat images).",
    ),
    Setting(
        "similar_candidates",
        6,
        "Nearest fingerprints per item checked by the local-feature stage (crops, same scene).",
    ),
    Setting(
        "similar_candidate_radius",
        90,
        "PDQ distance up to which a near neighbour is a candidate for the local-feature stage"
        " at ingest (dalil similar looks up to 120 at least).",
    ),
    Setting(
        "similar_time_window",
        120,
        "Seconds: shots by the same camera body this close in time are candidates too.",
    ),
    Setting(
        "clock_tolerance",
        300,
        "Seconds a ledger event may be dated before an earlier one (clocks set by hand) before"
        " verify reports that the history was not written in this order.",
    ),
    Setting(
        "contacts_key_file",
        "",
        "Path (outside the vault) of the key that encrypts families' contact details and"
        " consent, their photographs and the faces found for face ranking (dalil reports"
        " new-key FILE); empty: none of these can be stored.",
    ),
    Setting(
        "similar_min_inliers",
        15,
        "Geometrically consistent keypoint matches needed for a local-feature link.",
    ),
    Setting(
        "ocr_labels",
        "",
        "Path (relative to the vault folder, or absolute) of the collection's own OCR labels"
        " file, one field<TAB>label per line; empty: the labels shipped with Dalil.",
    ),
    Setting(
        "catalog",
        "",
        "Where the catalogue, the ledger and the working state are kept: empty for SQLite files"
        " in the vault folder, or postgresql://HOST:PORT/DATABASE (docs/scale.md); the password"
        " comes from ~/.pgpass or PGPASSWORD, never from this file.",
    ),
    Setting(
        "store",
        "",
        "Where originals are kept: empty for the vault's objects/ folder, or"
        " s3://BUCKET/PREFIX on an S3-compatible server (docs/scale.md); credentials come from"
        " the environment or ~/.aws, never from this file.",
    ),
    Setting(
        "s3_endpoint",
        "",
        "URL of the S3-compatible server (SeaweedFS, MinIO, Ceph …); empty: Amazon S3.",
    ),
    Setting("s3_region", "", "The S3 region; empty: the AWS configuration's default."),
    Setting(
        "s3_profile", "", "Named profile in ~/.aws holding the S3 credentials; empty: default."
    ),
    Setting(
        "s3_part_size_mib",
        64,
        "Files larger than this many MiB go to S3 by multipart upload, in parts of this size.",
    ),
    Setting(
        "s3_lock_days",
        0,
        "Object Lock retention (COMPLIANCE mode) given to each original on S3, in days; 0:"
        " none (the bucket must have been created with Object Lock enabled).",
    ),
    Setting(
        "s3_cache_mib",
        2048,
        "Local copies of S3 originals kept in tmp/s3-cache for readers (least recently used"
        " dropped beyond this many MiB; 0: no limit).",
    ),
    Setting(
        "executor",
        "local",
        "Where ingest, OCR and verify run their per-file work: local (a process pool on this"
        " machine) or ray (a Ray cluster; docs/scale.md).",
    ),
    Setting(
        "ray_address",
        "",
        "The Ray cluster's address (host:port) when executor is ray; empty: the cluster this"
        " machine has joined.",
    ),
    Setting(
        "decode_device",
        "cpu",
        "Where ingest decodes JPEGs: cpu (libjpeg-turbo) or gpu (nvJPEG, where torch with CUDA"
        " and a GPU are present; elsewhere the CPU, and the ingest report says so).",
    ),
    Setting(
        "exports_dir",
        "",
        "Folder (outside the vault) where court bundles made in the web workspace are written"
        " before they are downloaded; empty: <vault folder>-exports beside the vault.",
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    jobs: int = 0
    fsync: bool = True
    thumbnail_size: int = 256
    thumbnail_quality: int = 80
    max_image_pixels: int = 150_000_000
    in_memory_limit: int = 64 * 1024 * 1024
    zip_max_depth: int = 3
    zip_max_ratio: int = 200
    zip_max_member_bytes: int = 16 * 1024**3
    batch_size: int = 200
    similar_threshold: int = 31
    similar_min_quality: int = 50
    similar_candidates: int = 6
    similar_candidate_radius: int = 90
    similar_time_window: int = 120
    clock_tolerance: int = 300
    contacts_key_file: str = ""
    similar_min_inliers: int = 15
    ocr_labels: str = ""
    exports_dir: str = ""
    catalog: str = ""
    store: str = ""
    executor: str = "local"
    decode_device: str = "cpu"
    ray_address: str = ""
    s3_endpoint: str = ""
    s3_region: str = ""
    s3_profile: str = ""
    s3_part_size_mib: int = 64
    s3_lock_days: int = 0
    s3_cache_mib: int = 2048

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Settings:
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known:
                raise VaultError(f"dalil.toml: unknown setting {key!r}")
            default = getattr(cls(), key)
            if type(value) is not type(default):
                raise VaultError(
                    f"dalil.toml: setting {key!r} must be {type(default).__name__}, not {value!r}"
                )
            kwargs[key] = value
        if kwargs.get("decode_device", "cpu") not in ("cpu", "gpu"):
            raise VaultError(
                f'dalil.toml: decode_device must be "cpu" or "gpu", not {kwargs["decode_device"]!r}'
            )
        if kwargs.get("executor", "local") not in ("local", "ray"):
            raise VaultError(
                f'dalil.toml: executor must be "local" or "ray", not {kwargs["executor"]!r}'
            )
        catalog = kwargs.get("catalog", "")
        if catalog:
            check_catalog_url(catalog, "dalil.toml: catalog")
        return cls(**kwargs)


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def check_catalog_url(url: str, where: str) -> None:
    """A catalogue address Dalil can use: PostgreSQL's, without a password in it."""
    if not is_postgres_url(url):
        raise VaultError(
            f"{where} must be empty (SQLite in the vault folder) or postgresql://HOST:PORT/DATABASE"
        )
    from dalil.catalog.pg import has_password, readable

    if not readable(url):
        raise VaultError(f"{where} is not an address PostgreSQL can read (it is not repeated here)")
    if has_password(url):
        raise VaultError(
            f"{where} holds a password; put it in ~/.pgpass or PGPASSWORD, never in an address"
            " that is written down"
        )


def read_config(path: Path) -> dict[str, Any]:
    """Read ``dalil.toml``; raise VaultError with the reason if it is unreadable."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise VaultError(f"{path.parent} is not a Dalil vault (no dalil.toml)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise VaultError(f"{path}: {exc}") from exc


def _toml_value(value: int | bool | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_config(vault_id: str, created_at: str, settings: Settings) -> str:
    """Render a fresh ``dalil.toml`` with every setting and its help as a comment."""
    lines = [
        "# Dalil vault. Do not edit [vault]; settings may be changed.",
        "[vault]",
        f"format_version = {FORMAT_VERSION}",
        f"id = {_toml_value(vault_id)}",
        f"created_at = {_toml_value(created_at)}",
        "",
        "[settings]",
    ]
    for setting in SETTINGS:
        lines.append(f"# {setting.help}")
        lines.append(f"{setting.name} = {_toml_value(getattr(settings, setting.name))}")
    return "\n".join(lines) + "\n"

"""The object store on S3: round trip, write-once, verify, migration, no credential anywhere."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from dalil.errors import DalilError, UsageError
from dalil.ingest.session import IngestOptions, IngestSession
from dalil.s3store import S3Config, S3Location, S3Store, StoreConflict
from dalil.store import open_store
from dalil.vault import Vault
from dalil.verify import verify
from tests.conftest import PASSWORD, catalogue, run_dalil, sign_and_verify, write_photos
from tests.store.conftest import KEY_ID, SECRET, S3Server, closed_port_url, set_settings


def _collection(folder: Path) -> dict[str, bytes]:
    """Three small photographs and a file large enough to be streamed in parts."""
    write_photos(folder, 3)
    (folder / "scan.bin").write_bytes(bytes(range(256)) * 50_000)  # 12.8 MB
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _ingest(vault: Vault, folder: Path) -> None:
    IngestSession(vault, IngestOptions([folder], "test stick", "tester", jobs=2)).run()


def _keys(server: S3Server, vault: Vault) -> dict[str, str]:
    store = vault.store()
    assert isinstance(store, S3Store)
    return {name: key for name, key, _ in store.iter_names()}


def test_ingest_stores_on_s3_and_verify_rehashes_every_object(
    s3_vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    files = _collection(tmp_path / "stick")
    _ingest(s3_vault, tmp_path / "stick")
    keys = _keys(s3_server, s3_vault)
    assert set(keys) == {hashlib.sha256(b).hexdigest() for b in files.values()}
    assert not any((s3_vault.objects_dir / "sha256").rglob("*.*")), "nothing in the folder"
    client = s3_server.client()
    for sha, key in keys.items():
        body = client.get_object(Bucket=s3_vault.store().location.bucket, Key=key)["Body"]  # type: ignore[attr-defined, union-attr]
        assert hashlib.sha256(body.read()).hexdigest() == sha
    big = hashlib.sha256(files["scan.bin"]).hexdigest()
    head = client.head_object(Bucket=s3_vault.store().location.bucket, Key=keys[big])  # type: ignore[attr-defined, union-attr]
    assert "-" in head["ETag"], "the large file went up in parts"
    report = sign_and_verify(s3_vault, jobs=2)
    assert report.ok, report.problems
    assert report.objects_checked == 4
    conn = s3_vault.connect(readonly=True)
    thumbnails = conn.execute("SELECT COUNT(*) FROM derivatives WHERE kind = 'thumbnail'")
    assert thumbnails.fetchone()[0] == 3
    conn.close()


def test_verify_names_changed_missing_and_unexpected_objects_on_s3(
    s3_vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    _collection(tmp_path / "stick")
    _ingest(s3_vault, tmp_path / "stick")
    keys = _keys(s3_server, s3_vault)
    store = s3_vault.store()
    assert isinstance(store, S3Store)
    changed, missing = sorted(keys)[:2]
    client = s3_server.client()
    bucket = store.location.bucket
    client.put_object(Bucket=bucket, Key=keys[changed], Body=b"not the original")  # type: ignore[attr-defined]
    client.delete_object(Bucket=bucket, Key=keys[missing])  # type: ignore[attr-defined]
    client.put_object(Bucket=bucket, Key="evidence/sha256/00/00/planted", Body=b"x")  # type: ignore[attr-defined]
    report = verify(s3_vault, jobs=2)
    found = {(p.kind, p.sha256) for p in report.problems}
    assert ("object_altered", changed) in found
    assert ("object_missing", missing) in found
    assert any(p.kind == "unexpected_object" and "planted" in p.detail for p in report.problems)
    result = run_dalil("verify", "--vault", s3_vault.root)
    assert result.returncode == 1
    assert changed in result.stdout and missing in result.stdout


def test_a_write_never_replaces_an_object_and_a_wrong_one_stops_ingest(
    s3_vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    store = s3_vault.store()
    assert isinstance(store, S3Store)
    data = b"an original"
    sha = hashlib.sha256(data).hexdigest()
    assert store.put_bytes(data).created
    assert not store.put_bytes(data).created  # there already, and proved
    # the server itself refuses a second write under the key (If-None-Match: *)
    from botocore.exceptions import ClientError

    client = s3_server.client()
    with pytest.raises(ClientError) as refused:
        client.put_object(  # type: ignore[attr-defined]
            Bucket=store.location.bucket,
            Key=store.location.key(sha),
            Body=b"other bytes",
            IfNoneMatch="*",
        )
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    # someone with the bucket's keys replaced an original: Dalil proves, never trusts
    photo = tmp_path / "stick" / "IMG_0000.JPG"
    write_photos(photo.parent, 1)
    photo_sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    client.put_object(Bucket=store.location.bucket, Key=store.location.key(photo_sha), Body=b"x")  # type: ignore[attr-defined]
    with pytest.raises(StoreConflict):
        store.put_bytes(photo.read_bytes())
    with pytest.raises(DalilError) as stopped:
        _ingest(s3_vault, photo.parent)
    assert "IMG_0000.JPG" in str(stopped.value) and "something else" in str(stopped.value)
    conn = s3_vault.connect(readonly=True)
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0
    conn.close()


def test_object_lock_retention_is_set_where_asked(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket(lock=True)
    config = S3Config(S3Location.parse(f"s3://{bucket}/v"), s3_server.endpoint, lock_days=3)
    store = S3Store(config, tmp_path)
    data = b"locked original"
    sha = store.put_bytes(data).sha256
    head = s3_server.client().head_object(Bucket=bucket, Key=config.location.key(sha))  # type: ignore[attr-defined]
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"] is not None


def test_readers_get_a_checked_local_copy(
    s3_vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    files = _collection(tmp_path / "stick")
    _ingest(s3_vault, tmp_path / "stick")
    store = s3_vault.store()
    assert isinstance(store, S3Store)
    sha = hashlib.sha256(files["IMG_0001.JPG"]).hexdigest()
    local = store.local_path(sha)
    assert local.read_bytes() == files["IMG_0001.JPG"]
    local.chmod(0o644)
    local.write_bytes(b"swapped in the cache")
    assert store.local_path(sha).read_bytes() == files["IMG_0001.JPG"], "fetched again"
    local.chmod(0o644)
    local.unlink()
    s3_server.client().put_object(
        Bucket=store.location.bucket, Key=store.location.key(sha), Body=b"x"
    )  # type: ignore[attr-defined]
    assert not store.local_path(sha).exists(), "an altered object is never handed to a reader"


def test_store_addresses_with_credentials_are_refused_without_repeating_them() -> None:
    with pytest.raises(UsageError) as refused:
        S3Location.parse(f"s3://{KEY_ID}:{SECRET}@bucket/prefix")
    assert SECRET not in str(refused.value) and KEY_ID not in str(refused.value)
    assert S3Location.parse("s3://bucket").key("ab" * 32).startswith("sha256/ab/ab/")
    assert S3Location.parse("s3://bucket/a/b/").url == "s3://bucket/a/b/"


def test_migration_copies_proves_and_switches(
    vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    files = _collection(tmp_path / "stick")
    _ingest(vault, tmp_path / "stick")
    bucket = s3_server.new_bucket()
    target = f"s3://{bucket}/moved"
    args = ("--endpoint", s3_server.endpoint, "--part-size-mib", "5", "--vault", vault.root)
    first = run_dalil("store", "migrate", target, *args, "--switch", "--as", "tester", "--json")
    assert first.returncode == 0, first.stderr
    assert '"proved": 4' in first.stdout and '"switched": true' in first.stdout
    moved = Vault.open(vault.root)
    assert moved.settings.store == f"{target}/"
    assert isinstance(moved.store(), S3Store)
    assert (vault.objects_dir / "sha256").is_dir(), "the folder keeps its copies"
    report = sign_and_verify(moved)
    assert report.ok, report.problems
    assert report.objects_checked == len(files)
    conn = moved.connect(readonly=True)
    migrated = [e for e in moved.ledger(conn).events() if e["action"] == "store.migrated"]
    conn.close()
    assert [e["actor"] for e in migrated] == ["tester"]
    assert migrated[0]["details"]["proved"] == len(files)
    assert migrated[0]["details"]["switched"] is True
    again = run_dalil("store", "migrate", target, *args, "--as", "tester")
    assert again.returncode == 2 and "already keeps its originals" in again.stderr


def test_migration_does_not_switch_when_an_object_is_wrong(
    vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    files = _collection(tmp_path / "stick")
    _ingest(vault, tmp_path / "stick")
    bucket = s3_server.new_bucket()
    location = S3Location.parse(f"s3://{bucket}/moved")
    planted = hashlib.sha256(files["IMG_0002.JPG"]).hexdigest()
    s3_server.client().put_object(Bucket=bucket, Key=location.key(planted), Body=b"forged")  # type: ignore[attr-defined]
    result = run_dalil(
        "store", "migrate", location.url, "--endpoint", s3_server.endpoint,
        "--switch", "--vault", vault.root, "--as", "tester",
    )  # fmt: skip
    assert result.returncode == 1
    assert planted in result.stdout and "Not switched" in result.stdout
    assert Vault.open(vault.root).settings.store == ""


def test_migration_is_for_administrators(vault: Vault, s3_server: S3Server, tmp_path: Path) -> None:
    from tests.conftest import add_users

    add_users(vault, "tester", "nadia")
    result = run_dalil(
        "store", "migrate", f"s3://{s3_server.new_bucket()}/x", "--endpoint",
        s3_server.endpoint, "--vault", vault.root, "--as", "nadia",
    )  # fmt: skip
    assert result.returncode == 2 and "administrator" in result.stderr


def test_no_credential_in_outputs_events_catalogue_or_errors(
    s3_vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    _collection(tmp_path / "stick")
    outputs = []
    for args in (
        ("ingest", tmp_path / "stick", "--from", "stick", "--as", "tester", "--json"),
        ("verify", "--json"),
        ("store", "show", "--json"),
        ("show", "--help"),
    ):
        result = run_dalil(*args, "--vault", s3_vault.root)
        outputs.append(result.stdout + result.stderr)
    assert "store" in outputs[2]
    # an unreachable server and a missing bucket: the errors say so, and no more
    set_settings(s3_vault.root, s3_endpoint=closed_port_url())
    again = ("ingest", tmp_path / "stick", "--from", "again", "--as", "tester", "--json")
    unreachable = run_dalil(*again, "--vault", s3_vault.root)
    assert unreachable.returncode != 0 and "error" in unreachable.stderr
    blind = run_dalil("verify", "--vault", s3_vault.root)
    assert blind.returncode == 1 and "store_unreadable" in blind.stdout
    set_settings(s3_vault.root, s3_endpoint=s3_server.endpoint, store="s3://no-such-bucket-x1/e")
    (tmp_path / "stick" / "new.txt").write_text("a new file")
    missing = run_dalil(*again, "--vault", s3_vault.root)
    assert missing.returncode != 0 and "NoSuchBucket" in missing.stderr
    outputs += [unreachable.stdout + unreachable.stderr, missing.stdout + missing.stderr]
    outputs.append(blind.stdout + blind.stderr)
    stored = b"".join(
        p.read_bytes() for p in s3_vault.root.rglob("*") if p.is_file() and "s3-cache" not in str(p)
    )
    for secret in (SECRET, KEY_ID):
        assert all(secret not in text for text in outputs)
        assert secret.encode() not in stored


def test_open_store_is_the_folder_by_default(vault: Vault) -> None:
    store = open_store(vault.root, vault.settings)
    assert not isinstance(store, S3Store)
    assert store.local_path("ab" * 32) == vault.objects_dir / "sha256" / "ab" / "ab" / ("ab" * 32)


def test_ocr_workers_fetch_from_s3_and_an_unreachable_store_records_nothing(
    s3_vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    import json

    from dalil.demo.generate import generate_collection

    generate_collection(tmp_path / "cards", cards=2, seed=21, photo_size=(1200, 900))

    def dalil(*args: str) -> Any:
        return run_dalil(*args, "--vault", s3_vault.root, "--as", "tester", "--json")

    assert dalil("ingest", str(tmp_path / "cards"), "--from", "cards").returncode == 0
    proposed = json.loads(dalil("cases", "propose").stdout)["proposed"]
    assert dalil("cases", "accept", *proposed).returncode == 0
    set_settings(s3_vault.root, s3_endpoint=closed_port_url())
    for cached in (s3_vault.tmp_dir / "s3-cache").rglob("*"):
        if cached.is_file():
            cached.unlink()
    stopped = dalil("cases", "ocr", "--jobs", "2")
    assert stopped.returncode == 2 and "EndpointConnectionError" in stopped.stderr
    conn = s3_vault.connect(readonly=True)
    assert conn.execute("SELECT COUNT(*) FROM ocr_runs").fetchone()[0] == 0
    conn.close()
    set_settings(s3_vault.root, s3_endpoint=s3_server.endpoint)
    read = dalil("cases", "ocr", "--jobs", "2")
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["photos_read"] >= 4


def test_verify_names_originals_without_the_retention_asked_for(
    s3_server: S3Server, tmp_path: Path
) -> None:
    root = tmp_path / "vault"
    Vault.init(root, "tester", PASSWORD)
    locked = s3_server.new_bucket(lock=True)
    set_settings(root, store=f"s3://{locked}/e", s3_endpoint=s3_server.endpoint, s3_lock_days=0)
    write_photos(tmp_path / "stick", 2)
    _ingest(Vault.open(root), tmp_path / "stick")  # written without a retention
    write_photos(tmp_path / "more", 1, start=5)
    set_settings(root, s3_lock_days=2)
    vault = Vault.open(root)
    _ingest(vault, tmp_path / "more")  # this one with a retention of two days
    report = sign_and_verify(vault)
    unprotected = {p.sha256 for p in report.problems if p.kind == "object_unprotected"}
    assert len(unprotected) == 2 and len(report.problems) == 2, report.problems
    assert all("no Object Lock retention" in p.detail for p in report.problems)


def test_an_interrupted_migration_resumes_without_sending_again(
    vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    files = _collection(tmp_path / "stick")
    _ingest(vault, tmp_path / "stick")
    config = S3Config(
        S3Location.parse(f"s3://{s3_server.new_bucket()}/m"), s3_server.endpoint, part_size=5 << 20
    )
    first = sorted(hashlib.sha256(b).hexdigest() for b in files.values())[:2]
    store = S3Store(config, vault.tmp_dir)
    for sha in first:  # what a run killed half-way had sent
        path = vault.folder_store().path(sha)
        store.put_file(path, sha, path.stat().st_size)
    args = ("--endpoint", s3_server.endpoint, "--vault", vault.root, "--as", "tester", "--json")
    done = run_dalil("store", "migrate", config.location.url, *args)
    assert done.returncode == 0, done.stderr
    assert '"sent": 2' in done.stdout and '"proved": 4' in done.stdout
    again = run_dalil("store", "migrate", config.location.url, *args)
    assert '"sent": 0' in again.stdout and '"proved": 4' in again.stdout


def test_ingest_from_a_bucket_is_ingest_from_the_same_files_and_leaves_the_bucket_alone(
    vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    import json

    files = _collection(tmp_path / "stick")
    client: Any = s3_server.client()
    bucket = s3_server.new_bucket()
    for name, data in files.items():
        client.put_object(Bucket=bucket, Key=f"received/stick/{name}", Body=data)
    client.put_object(Bucket=bucket, Key="received/stick/empty-folder/", Body=b"")
    client.put_object(Bucket=bucket, Key="elsewhere/not-this.txt", Body=b"outside the prefix")
    before = {o["Key"]: o["ETag"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    here = Vault.init(tmp_path / "from-folder", "tester", PASSWORD)
    _ingest(here, tmp_path / "stick")
    done = run_dalil(
        "ingest", f"s3://{bucket}/received/stick", "--source-endpoint", s3_server.endpoint,
        "--from", "the centre's bucket", "--vault", vault.root, "--as", "tester", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["items_new"] == len(files)
    rows = {}
    for name, v in (("folder", here), ("bucket", vault)):
        conn = catalogue(v)
        rows[name] = [
            sorted(conn.execute(sql))
            for sql in (
                "SELECT sha256, size, media_type FROM items",
                "SELECT * FROM fingerprints",
                "SELECT sha256, flag FROM item_flags",
                "SELECT sha256, kind, width, height, file_sha256 FROM derivatives",
            )
        ]
        paths = sorted(r[0] for r in conn.execute("SELECT path_text FROM occurrences"))
        conn.close()
    assert rows["folder"] == rows["bucket"]
    assert paths == sorted(f"{bucket}/received/stick/{n}" for n in files)
    assert sign_and_verify(vault).ok
    after = {o["Key"]: o["ETag"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert after == before, "the source bucket is only read"
    missing = run_dalil(
        "ingest", "s3://no-such-bucket-zz/x", "--source-endpoint", s3_server.endpoint,
        "--from", "nothing", "--vault", vault.root, "--as", "tester", "--json",
    )  # fmt: skip
    assert "cannot list" in missing.stdout and "NoSuchBucket" in missing.stdout


def test_a_migration_by_someone_who_has_not_proved_who_they_are_sends_nothing(
    vault: Vault, s3_server: S3Server, tmp_path: Path
) -> None:
    import os
    import subprocess

    from tests.conftest import dalil_command

    _collection(tmp_path / "stick")
    _ingest(vault, tmp_path / "stick")
    bucket = s3_server.new_bucket()
    env = {k: v for k, v in os.environ.items() if k != "DALIL_PASSWORD"}  # no password given
    refused = subprocess.run(
        dalil_command(
            "store", "migrate", f"s3://{bucket}/m", "--endpoint", s3_server.endpoint,
            "--vault", vault.root, "--as", "tester",
        ),
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert refused.returncode == 2 and "has not proved who they are" in refused.stderr
    listed = s3_server.client().list_objects_v2(Bucket=bucket)  # type: ignore[attr-defined]
    assert listed.get("KeyCount", 0) == 0, "not one original left the vault"

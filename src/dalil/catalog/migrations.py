"""Named, transactional schema migrations.

Each migration runs once, in its own transaction, and is recorded in ``schema_migrations``.
Before migrating an existing catalogue, a backup copy is taken with SQLite's backup API.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dalil.catalog.db import Db, atomic, columns, is_postgres, tables
from dalil.timeutil import utc_now


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    apply: Callable[[Db], None]


def _run_script(conn: Db, script: str) -> None:
    # executescript() would COMMIT the surrounding transaction; run statement by statement.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _initial(conn: Db) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE acquisitions (
            id INTEGER PRIMARY KEY,
            label TEXT NOT NULL UNIQUE,
            source_label TEXT NOT NULL,
            note TEXT,
            actor TEXT NOT NULL,
            sources TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            closed_at TEXT,
            counts TEXT
        );
        CREATE TABLE items (
            sha256 TEXT PRIMARY KEY,
            size INTEGER NOT NULL,
            media_type TEXT NOT NULL,
            acquisition_id INTEGER NOT NULL REFERENCES acquisitions(id),
            ingested_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE item_flags (
            sha256 TEXT NOT NULL REFERENCES items(sha256),
            flag TEXT NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (sha256, flag)
        ) WITHOUT ROWID;
        CREATE INDEX item_flags_flag ON item_flags(flag);
        CREATE TABLE occurrences (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL REFERENCES items(sha256),
            acquisition_id INTEGER NOT NULL REFERENCES acquisitions(id),
            source_label TEXT NOT NULL,
            path BLOB NOT NULL,
            path_text TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER,
            ctime_ns INTEGER,
            atime_ns INTEGER,
            mode INTEGER,
            UNIQUE (source_label, path, sha256)
        );
        CREATE INDEX occurrences_sha256 ON occurrences(sha256);
        CREATE INDEX occurrences_acquisition ON occurrences(acquisition_id);
        CREATE TABLE skipped_entries (
            id INTEGER PRIMARY KEY,
            acquisition_id INTEGER NOT NULL REFERENCES acquisitions(id),
            path BLOB NOT NULL,
            path_text TEXT NOT NULL,
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            UNIQUE (acquisition_id, path, kind)
        );
        CREATE TABLE metadata (
            sha256 TEXT PRIMARY KEY REFERENCES items(sha256),
            camera_make TEXT,
            camera_model TEXT,
            camera_serial TEXT,
            lens TEXT,
            captured_at TEXT,
            gps_lat REAL,
            gps_lon REAL,
            gps_alt REAL,
            orientation INTEGER,
            software TEXT,
            width INTEGER,
            height INTEGER,
            raw TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE fingerprints (
            sha256 TEXT NOT NULL REFERENCES items(sha256),
            algorithm TEXT NOT NULL,
            value TEXT NOT NULL,
            quality INTEGER NOT NULL,
            PRIMARY KEY (sha256, algorithm)
        ) WITHOUT ROWID;
        CREATE TABLE derivatives (
            sha256 TEXT NOT NULL REFERENCES items(sha256),
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            media_type TEXT NOT NULL,
            width INTEGER,
            height INTEGER,
            recipe TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (sha256, kind)
        ) WITHOUT ROWID;
        CREATE TABLE ledger (
            seq INTEGER PRIMARY KEY,
            event TEXT NOT NULL,
            leaf_hash BLOB NOT NULL
        );
        CREATE TABLE checkpoints (
            id INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            size INTEGER NOT NULL,
            root TEXT NOT NULL,
            time TEXT NOT NULL,
            signature TEXT NOT NULL
        );
        """,
    )


def _similar(conn: Db) -> None:
    _run_script(
        conn,
        """
        ALTER TABLE fingerprints ADD COLUMN variants BLOB;
        CREATE TABLE pair_checks (
            a TEXT NOT NULL REFERENCES items(sha256),
            b TEXT NOT NULL REFERENCES items(sha256),
            stage TEXT NOT NULL,
            linked INTEGER NOT NULL,
            distance INTEGER,
            variant TEXT,
            inliers INTEGER,
            matches INTEGER,
            signals TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            PRIMARY KEY (a, b)
        ) WITHOUT ROWID;
        CREATE INDEX pair_checks_b ON pair_checks(b);
        CREATE TABLE clusters (
            id INTEGER PRIMARY KEY,
            label TEXT NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE cluster_members (
            sha256 TEXT PRIMARY KEY REFERENCES items(sha256),
            cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX cluster_members_cluster ON cluster_members(cluster_id);
        CREATE TABLE cluster_decisions (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('must_link', 'cannot_link')),
            a TEXT NOT NULL REFERENCES items(sha256),
            b TEXT NOT NULL REFERENCES items(sha256),
            active INTEGER NOT NULL DEFAULT 1,
            actor TEXT NOT NULL,
            decided_at TEXT NOT NULL,
            ledger_seq INTEGER NOT NULL
        );
        """,
    )


def _matched(conn: Db) -> None:
    """Which items went through the two-stage match, so ``clusters recompute`` can limit the
    slow stage to the others (items ingested with ``--no-group``, or before 0003)."""
    _run_script(
        conn,
        """
        CREATE TABLE match_checks (
            sha256 TEXT PRIMARY KEY REFERENCES items(sha256),
            matched_at TEXT NOT NULL
        ) WITHOUT ROWID;
        """,
    )


def _cases(conn: Db) -> None:
    """Cases, identifier types, annotations with two-person review, and the search index."""
    _run_script(
        conn,
        """
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL DEFAULT 'investigator',
            created_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE identifier_types (
            name TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            pattern TEXT NOT NULL,
            example TEXT NOT NULL,
            builtin INTEGER NOT NULL DEFAULT 0,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            case_id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('person', 'incident', 'place')),
            title TEXT NOT NULL,
            status TEXT NOT NULL,
            cluster TEXT,
            notes TEXT NOT NULL DEFAULT '',
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            -- a summary of the case's current (non-rejected) annotations and linked items,
            -- rewritten on every change, for filters and lists (annotations are the truth)
            sex TEXT,
            age TEXT,
            died_on TEXT,
            place TEXT,
            photographed_on TEXT,
            branch TEXT,
            cameras TEXT NOT NULL DEFAULT '',
            flags TEXT NOT NULL DEFAULT '',
            items INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX cases_status ON cases(status, id);
        CREATE INDEX cases_photographed ON cases(photographed_on);
        CREATE INDEX cases_branch ON cases(branch);
        CREATE INDEX cases_cluster ON cases(cluster);
        CREATE TABLE case_items (
            case_pk INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            sha256 TEXT NOT NULL REFERENCES items(sha256),
            role TEXT NOT NULL,
            linked_by TEXT NOT NULL,
            linked_at TEXT NOT NULL,
            PRIMARY KEY (case_pk, sha256)
        ) WITHOUT ROWID;
        CREATE INDEX case_items_item ON case_items(sha256);
        -- Every claim people (or OCR, on someone's behalf) make about a case. Never updated in
        -- place except its review state: a correction is a new annotation.
        CREATE TABLE annotations (
            id INTEGER PRIMARY KEY,
            case_pk INTEGER NOT NULL REFERENCES cases(id),
            kind TEXT NOT NULL CHECK (kind IN ('identifier', 'attribute', 'mark', 'note')),
            field TEXT NOT NULL,
            value TEXT NOT NULL,
            source TEXT NOT NULL,
            confidence REAL,
            item TEXT REFERENCES items(sha256),
            region TEXT,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'unverified'
                CHECK (state IN ('unverified', 'verified', 'rejected', 'superseded')),
            ledger_seq INTEGER NOT NULL
        );
        CREATE INDEX annotations_case ON annotations(case_pk, kind, field);
        CREATE INDEX annotations_value ON annotations(kind, field, value, state, case_pk);
        CREATE INDEX annotations_state ON annotations(state, kind);
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            annotation_id INTEGER NOT NULL REFERENCES annotations(id),
            reviewer TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject')),
            comment TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            ledger_seq INTEGER NOT NULL
        );
        CREATE INDEX reviews_annotation ON reviews(annotation_id);
        -- Keys for fuzzy identifier search: each value with one digit replaced by '?', and
        -- with one digit left out (prefixed '-'), so a one-digit misreading is an indexed
        -- lookup, not a scan.
        CREATE TABLE identifier_keys (
            key TEXT NOT NULL,
            annotation_id INTEGER NOT NULL REFERENCES annotations(id),
            PRIMARY KEY (key, annotation_id)
        ) WITHOUT ROWID;
        CREATE VIRTUAL TABLE case_text USING fts5(
            case_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2'
        );
        CREATE TABLE ocr_runs (
            sha256 TEXT NOT NULL REFERENCES items(sha256),
            engine TEXT NOT NULL,
            readings TEXT NOT NULL,
            text TEXT NOT NULL,
            ran_at TEXT NOT NULL,
            PRIMARY KEY (sha256, engine)
        ) WITHOUT ROWID;
        """,
    )


def _accounts(conn: Db) -> None:
    """Web logins: password hashes, roles, display settings, sessions, failed logins."""
    _run_script(
        conn,
        """
        ALTER TABLE users ADD COLUMN password_hash TEXT;
        ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE users ADD COLUMN blur INTEGER NOT NULL DEFAULT 3;
        ALTER TABLE users ADD COLUMN greyscale INTEGER NOT NULL DEFAULT 1;
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user TEXT NOT NULL REFERENCES users(name),
            csrf TEXT NOT NULL,
            address TEXT NOT NULL,
            created_at REAL NOT NULL,
            last_seen REAL NOT NULL,
            expires_at REAL NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX sessions_user ON sessions(user);
        CREATE TABLE login_failures (
            id INTEGER PRIMARY KEY,
            user TEXT NOT NULL,
            address TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE INDEX login_failures_user ON login_failures(user, at);
        CREATE INDEX login_failures_address ON login_failures(address, at);
        CREATE TABLE reveal_grants (
            token_hash TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            until REAL NOT NULL,
            PRIMARY KEY (token_hash, sha256)
        ) WITHOUT ROWID;
        """,
    )


def _timestamps(conn: Db) -> None:
    """RFC 3161 tokens over signed checkpoints (``dalil ledger timestamp``), kept verbatim."""
    _run_script(
        conn,
        """
        CREATE TABLE checkpoint_timestamps (
            id INTEGER PRIMARY KEY,
            checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id),
            tsa_url TEXT NOT NULL,
            token BLOB NOT NULL,
            ca_pem TEXT,
            gen_time TEXT NOT NULL,
            tsa_name TEXT NOT NULL,
            ledger_seq INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX checkpoint_timestamps_checkpoint ON checkpoint_timestamps(checkpoint_id);
        """,
    )


# The ledger's own file and the working state of the web workspace are created here too, so a
# catalogue connection finds them whatever version made the vault.
LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledgerdb.ledger (
    seq INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    leaf_hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS ledgerdb.payloads (
    seq INTEGER PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledgerdb.checkpoints (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    root TEXT NOT NULL,
    time TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledgerdb.checkpoint_timestamps (
    id INTEGER PRIMARY KEY,
    checkpoint_id INTEGER NOT NULL REFERENCES checkpoints(id),
    tsa_url TEXT NOT NULL,
    token BLOB NOT NULL,
    ca_pem TEXT,
    gen_time TEXT NOT NULL,
    tsa_name TEXT NOT NULL,
    ledger_seq INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledgerdb.checkpoint_timestamps_checkpoint
    ON checkpoint_timestamps(checkpoint_id);
CREATE TABLE IF NOT EXISTS ledgerdb.frontier (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    stack BLOB NOT NULL
)
"""

STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS statedb.sessions (
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    address TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    sealed_key TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS statedb.sessions_user ON sessions(user);
CREATE TABLE IF NOT EXISTS statedb.login_failures (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    address TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS statedb.login_failures_user ON login_failures(user, at);
CREATE INDEX IF NOT EXISTS statedb.login_failures_address ON login_failures(address, at);
CREATE TABLE IF NOT EXISTS statedb.reveal_grants (
    token_hash TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    until REAL NOT NULL,
    PRIMARY KEY (token_hash, sha256)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS statedb.user_settings (
    name TEXT PRIMARY KEY,
    blur INTEGER NOT NULL DEFAULT 3,
    greyscale INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID
"""


def _tables(conn: Db, schema: str) -> set[str]:
    return set(tables(conn, schema))


def _columns(conn: Db, schema: str, table: str) -> set[str]:
    return {name for name, _ in columns(conn, table, schema)}


def _ledger_file(conn: Db) -> None:
    """The ledger moves to its own file (``ledger.sqlite``), so the catalogue can be rebuilt
    from it when lost; web sessions and display settings move to ``state.sqlite`` (working
    state, not evidence). Sessions are not carried over: people log in again."""
    main = _tables(conn, "main")
    if "ledger" in main and conn.execute("SELECT COUNT(*) FROM main.ledger").fetchone()[0]:
        if conn.execute("SELECT COUNT(*) FROM ledgerdb.ledger").fetchone()[0]:
            raise RuntimeError("both catalog.sqlite and ledger.sqlite hold a ledger")
        conn.execute("INSERT INTO ledgerdb.ledger SELECT seq, event, leaf_hash FROM main.ledger")
        conn.execute(
            "INSERT INTO ledgerdb.checkpoints SELECT id, origin, size, root, time, signature"
            " FROM main.checkpoints"
        )
        if "checkpoint_timestamps" in main:
            conn.execute(
                "INSERT INTO ledgerdb.checkpoint_timestamps SELECT id, checkpoint_id, tsa_url,"
                " token, ca_pem, gen_time, tsa_name, ledger_seq, created_at"
                " FROM main.checkpoint_timestamps"
            )
    if "blur" in _columns(conn, "main", "users"):
        conn.execute(
            "INSERT INTO statedb.user_settings (name, blur, greyscale)"
            " SELECT name, blur, greyscale FROM main.users WHERE true ON CONFLICT (name) DO UPDATE"
            " SET blur = excluded.blur, greyscale = excluded.greyscale"
        )
        conn.execute("ALTER TABLE main.users DROP COLUMN blur")
        conn.execute("ALTER TABLE main.users DROP COLUMN greyscale")
    for table in (
        "checkpoint_timestamps",
        "checkpoints",
        "ledger",
        "reveal_grants",
        "login_failures",
        "sessions",
    ):
        if table in main:
            conn.execute(f"DROP TABLE main.{table}")


def _projection(conn: Db) -> None:
    """The catalogue records how far into the ledger it is a projection of (``seq`` events,
    the last one's leaf hash ``head``). A catalogue made before this is bound to the ledger
    when the vault is next opened (``seq`` NULL until then). Derivatives record the SHA-256
    of their file."""
    events = conn.execute("SELECT COUNT(*) FROM ledgerdb.ledger").fetchone()[0]
    _run_script(
        conn,
        """
        CREATE TABLE projection (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER,
            head TEXT NOT NULL DEFAULT ''
        );
        ALTER TABLE derivatives ADD COLUMN file_sha256 TEXT
        """,
    )
    conn.execute("INSERT INTO projection (id, seq) VALUES (1, ?)", (None if events else 0,))


def _acquisition_grouping(conn: Db) -> None:
    """Whether an acquisition asked for near-duplicate grouping, so that items a killed run
    never grouped are grouped by the next one (and items ingested with --no-group are not)."""
    conn.execute("ALTER TABLE acquisitions ADD COLUMN grouping INTEGER NOT NULL DEFAULT 1")


def _arabic_search(conn: Db) -> None:
    """Case text is indexed with Arabic spellings folded (dalil.cases.vocabulary.search_text):
    every case's row is written again, as a replay of the ledger now writes it."""
    from dalil.cases.model import refresh

    for (pk,) in conn.execute("SELECT id FROM cases ORDER BY id").fetchall():
        refresh(conn, int(pk))


def _user_keys(conn: Db) -> None:
    """Each person's own key: the public part (their signatures are checked with it) and the
    private part sealed with their password (dalil.signing)."""
    conn.execute("ALTER TABLE users ADD COLUMN public_key TEXT")
    conn.execute("ALTER TABLE users ADD COLUMN sealed_key TEXT")


def _lists(conn: Db) -> None:
    """External lists (dalil lists import): each list, its records, the rows it could not use."""
    _run_script(
        conn,
        """
        CREATE TABLE lists (
            name TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            sha256 TEXT NOT NULL REFERENCES items(sha256),
            file_name TEXT NOT NULL,
            encoding TEXT NOT NULL,
            sheet TEXT,
            id_column TEXT,
            columns TEXT NOT NULL,
            mapping TEXT NOT NULL,
            records INTEGER NOT NULL,
            bad_rows INTEGER NOT NULL,
            imported_by TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            ledger_seq INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE list_records (
            list TEXT NOT NULL REFERENCES lists(name),
            record_id TEXT NOT NULL,
            line INTEGER NOT NULL,
            fields TEXT NOT NULL,
            extra TEXT NOT NULL,
            warnings TEXT NOT NULL,
            PRIMARY KEY (list, record_id)
        ) WITHOUT ROWID;
        CREATE TABLE list_bad_rows (
            list TEXT NOT NULL REFERENCES lists(name),
            line INTEGER NOT NULL,
            reason TEXT NOT NULL,
            raw TEXT NOT NULL,
            PRIMARY KEY (list, line)
        ) WITHOUT ROWID
        """,
    )


def _linkage(conn: Db) -> None:
    """Linkage runs (their model and candidate pairs), reviews of links, the decisions they
    make, and family reports (contact details are not here: they are encrypted elsewhere)."""
    _run_script(
        conn,
        """
        CREATE TABLE link_runs (
            id INTEGER PRIMARY KEY,
            mode TEXT NOT NULL,
            inputs TEXT NOT NULL,
            model TEXT NOT NULL,
            review_threshold REAL NOT NULL,
            people INTEGER NOT NULL,
            notes TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE link_candidates (
            run INTEGER NOT NULL REFERENCES link_runs(id),
            left_id TEXT NOT NULL,
            right_id TEXT NOT NULL,
            probability REAL NOT NULL,
            evidence TEXT NOT NULL,
            PRIMARY KEY (run, left_id, right_id)
        ) WITHOUT ROWID;
        CREATE INDEX link_candidates_pair ON link_candidates(left_id, right_id);
        CREATE TABLE link_reviews (
            id INTEGER PRIMARY KEY,
            left_id TEXT NOT NULL,
            right_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('confirm', 'reject')),
            comment TEXT NOT NULL,
            created_at TEXT NOT NULL,
            ledger_seq INTEGER NOT NULL
        );
        CREATE INDEX link_reviews_pair ON link_reviews(left_id, right_id);
        CREATE TABLE link_decisions (
            left_id TEXT NOT NULL,
            right_id TEXT NOT NULL,
            state TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (left_id, right_id)
        ) WITHOUT ROWID;
        CREATE TABLE reports (
            report_id TEXT PRIMARY KEY,
            fields TEXT NOT NULL,
            marks TEXT NOT NULL,
            photo TEXT,
            status TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            ledger_seq INTEGER NOT NULL
        ) WITHOUT ROWID
        """,
    )


def _estimates(conn: Db) -> None:
    """Saved multiple systems estimates: the number, its interval (an end is NULL where there
    is none) and how it was made (the inputs, the capture table and the whole result are in
    the ``estimate.saved`` event's payload)."""
    _run_script(
        conn,
        """
        CREATE TABLE estimates (
            id INTEGER PRIMARY KEY,
            method TEXT NOT NULL,
            source TEXT NOT NULL,
            lists TEXT NOT NULL,
            strata TEXT,
            observed INTEGER NOT NULL,
            estimate REAL NOT NULL,
            lower REAL,
            upper REAL,
            level REAL NOT NULL,
            seed INTEGER NOT NULL,
            draws INTEGER NOT NULL,
            warnings TEXT NOT NULL,
            code TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_initial", _initial),
    Migration("0002_similar", _similar),
    Migration("0003_match_checks", _matched),
    Migration("0004_cases", _cases),
    Migration("0005_accounts", _accounts),
    Migration("0006_timestamps", _timestamps),
    Migration("0007_ledger_file", _ledger_file),
    Migration("0008_projection", _projection),
    Migration("0009_acquisition_grouping", _acquisition_grouping),
    Migration("0010_arabic_search", _arabic_search),
    Migration("0011_user_keys", _user_keys),
    Migration("0012_lists", _lists),
    Migration("0013_linkage", _linkage),
    Migration("0014_estimates", _estimates),
)


def applied(conn: Db) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)"
    )
    return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]


def migrate(conn: Db, db_path: Path | None = None) -> list[str]:
    """Apply pending migrations in order; return their names.

    When the catalogue already has migrations and some are pending, a backup
    ``catalog.sqlite.bak-<name>`` is written next to ``db_path`` first (SQLite). On PostgreSQL
    everything runs in one transaction under the writer lock (its schema changes are
    transactional: a failed migration leaves no trace, and two processes opening the vault at
    once do not both migrate it).
    """
    if is_postgres(conn):
        from dalil.catalog import pg

        if _up_to_date(conn):  # the common case: no lock, no schema statement
            return []
        with atomic(conn):
            pg.prepare_schemas(conn)  # type: ignore[arg-type]
            return _migrate(conn, None)
    return _migrate(conn, db_path)


def _up_to_date(conn: Db) -> bool:
    if "schema_migrations" not in _tables(conn, "main"):
        return False
    if not {"sealed_key"} <= _columns(conn, "statedb", "sessions"):
        return False
    if not {"language", "digits"} <= _columns(conn, "statedb", "user_settings"):
        return False
    done = {str(r[0]) for r in conn.execute("SELECT name FROM schema_migrations")}
    return all(m.name in done for m in MIGRATIONS)


def _migrate(conn: Db, db_path: Path | None) -> list[str]:
    _run_script(conn, LEDGER_SCHEMA)
    _run_script(conn, STATE_SCHEMA)
    if "sealed_key" not in _columns(
        conn, "statedb", "sessions"
    ):  # a person's key, sealed with their session's token
        conn.execute("ALTER TABLE statedb.sessions ADD COLUMN sealed_key TEXT")
    settings = _columns(conn, "statedb", "user_settings")
    if "language" not in settings:  # the language of the pages (NULL: the browser's)
        conn.execute("ALTER TABLE statedb.user_settings ADD COLUMN language TEXT")
    if "digits" not in settings:  # digits shown Western or Arabic-Indic (never stored so)
        conn.execute(
            "ALTER TABLE statedb.user_settings ADD COLUMN digits TEXT NOT NULL DEFAULT 'western'"
        )
    done = set(applied(conn))
    pending = [m for m in MIGRATIONS if m.name not in done]
    if pending and done and db_path is not None and isinstance(conn, sqlite3.Connection):
        backup = sqlite3.connect(db_path.with_name(f"{db_path.name}.bak-{pending[0].name}"))
        with backup:
            conn.backup(backup)
        backup.close()
    for migration in pending:
        with atomic(conn):
            migration.apply(conn)
            conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                (migration.name, utc_now()),
            )
    return [m.name for m in pending]

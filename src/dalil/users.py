"""People who work in a vault: accounts, roles, passwords (argon2id), and what each role may do.

Users are a projection of the ledger: adding a user, changing a role, disabling an account and
setting a password are ledger events (the password's argon2 hash is in the event's payload,
never the password). Display settings are working state (``state.sqlite``). The command line names
its actor with ``--as``; the web workspace requires a login.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dalil import i18n, signing
from dalil.catalog import atomic
from dalil.catalog.db import Db
from dalil.errors import UsageError
from dalil.ledger.log import Ledger

ROLES = ("admin", "archivist", "investigator", "reviewer", "liaison", "auditor")

PERMISSIONS: dict[str, frozenset[str]] = {
    # see what is in the vault, blurred: dashboard, items, clusters, cases, acquisitions
    "browse": frozenset(ROLES),
    "search": frozenset(ROLES),
    # see an unblurred image (each time a ledger event); never the family-liaison role
    "reveal": frozenset({"admin", "archivist", "investigator", "reviewer"}),
    "ingest": frozenset({"admin", "archivist"}),
    "cases.edit": frozenset({"admin", "investigator"}),
    "review": frozenset({"admin", "investigator", "reviewer"}),
    "audit": frozenset({"admin", "auditor"}),
    # see what identifies sources and places: camera serial numbers, GPS positions, the paths
    # files were found at, where acquisitions came from (not the family-liaison role)
    "provenance": frozenset({"admin", "archivist", "investigator", "reviewer", "auditor"}),
    "users": frozenset({"admin"}),
    "own-settings": frozenset(ROLES),
    # families' reports, their candidates, and (sealed) how to reach the family
    "families": frozenset({"admin", "liaison"}),
    # multiple systems estimates from the lists: run one (saved in the ledger), see them
    "estimates": frozenset({"admin", "investigator", "auditor"}),
}
"""Permission → roles that hold it. docs/web.md shows this table; tests walk it."""

BLUR_LEVELS = (1, 2, 3, 4)
"""1: light … 4: heavy (the thumbnail's blur radius grows with it). Default 3."""

_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD = 12


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    disabled: bool
    blur: int
    greyscale: bool
    language: str | None = None  # the pages' language; None: what the browser asks for
    digits: str = "western"  # digits shown Western or Arabic-Indic (dalil.i18n.DIGITS)

    def may(self, permission: str) -> bool:
        return not self.disabled and self.role in PERMISSIONS[permission]


def get(conn: Db, name: str) -> User | None:
    row = conn.execute(
        "SELECT u.name, u.role, u.disabled, COALESCE(s.blur, 3), COALESCE(s.greyscale, 1),"
        " s.language, COALESCE(s.digits, 'western')"
        " FROM users u LEFT JOIN user_settings s ON s.name = u.name WHERE u.name = ?",
        (name,),
    ).fetchone()
    if row is None:
        return None
    language = str(row[5]) if row[5] in i18n.LANGUAGES else None
    digits = str(row[6]) if row[6] in i18n.DIGITS else "western"
    return User(str(row[0]), str(row[1]), bool(row[2]), int(row[3]), bool(row[4]), language, digits)


def list_users(conn: Db) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT name, role, disabled, created_at, password_hash IS NOT NULL FROM users"
        " ORDER BY name"
    )
    return [
        {
            "name": r[0],
            "role": r[1],
            "disabled": bool(r[2]),
            "created_at": r[3],
            "can_log_in": bool(r[4]),
        }
        for r in rows
    ]


SELF_AUTHORISED = frozenset({"vault.created"})
"""Actions whose actor need not be a user yet: the creator of a vault becomes its admin."""

SYSTEM_ACTOR = "dalil"
"""Dalil itself, the actor of what no person decides (binding an old catalogue); no user may
take this name."""

SYSTEM_ACTIONS = frozenset({"catalog.bound"})


def check_actor(conn: Db, name: str) -> str:
    """The role of the user ``name``; a usage error if there is none or it is disabled."""
    if not name:
        raise UsageError("an actor needs a name (--as NAME)")
    row = conn.execute("SELECT role, disabled FROM users WHERE name = ?", (name,)).fetchone()
    if row is None:
        other = conn.execute(
            "SELECT name FROM users WHERE lower(name) = lower(?)", (name,)
        ).fetchone()
        if other is not None:  # one person, one name: no second spelling
            raise UsageError(f"the user is called {other[0]!r}; act under that name")
        raise UsageError(
            f"no user {name!r} in this vault; an administrator adds people with"
            f" 'dalil users add {name} --role ROLE --as ADMIN'"
        )
    if row[1]:
        raise UsageError(f"the account {name!r} is disabled")
    return str(row[0])


def may_record(conn: Db, actor: str, action: str) -> None:
    """Raise unless ``actor`` may be the actor of a ledger event ``action``."""
    if action in SELF_AUTHORISED or (actor == SYSTEM_ACTOR and action in SYSTEM_ACTIONS):
        return
    check_actor(conn, actor)


def _require_admin(conn: Db, actor: str, what: str) -> None:
    if check_actor(conn, actor) != "admin":
        raise UsageError(f"only an administrator can {what} ({actor} is not one)")


def require(conn: Db, name: str, permission: str, doing: str) -> str:
    """The role of ``name``, who must hold ``permission`` to do what ``doing`` says."""
    role = check_actor(conn, name)
    if role not in PERMISSIONS[permission]:
        allowed = ", ".join(r for r in ROLES if r in PERMISSIONS[permission])
        raise UsageError(f"{name} ({role}) may not {doing}: that is for the roles {allowed}")
    return role


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UsageError(f"a role is one of: {', '.join(ROLES)}")


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")


_check_password = check_password_strength


def hash_password(password: str) -> str:
    """The argon2id hash that checks a password (what the ledger keeps)."""
    return _HASHER.hash(password)


def check_new_name(name: str) -> str:
    """A new user's name, checked (see :func:`check_name`) and not Dalil's own."""
    name = name.strip()
    check_name(name)
    if skeleton(name) == skeleton(SYSTEM_ACTOR):
        raise UsageError(f"{SYSTEM_ACTOR!r} is the name Dalil itself uses in the ledger")
    return name


def add(
    conn: Db,
    ledger: Ledger,
    actor: str,
    name: str,
    role: str,
    password: str,
) -> None:
    """Add the user ``name`` (see :func:`check_name` for the names refused) with their own
    password and key (the private key sealed with the password: :mod:`dalil.signing`)."""
    _check_role(role)
    name = check_new_name(name)
    check_password_strength(password)
    with atomic(conn):
        _require_admin(conn, actor, "add users")
        same = conn.execute(
            "SELECT name FROM users WHERE lower(name) = lower(?)", (name,)
        ).fetchone()
        if same:
            raise UsageError(f"user {same[0]!r} exists already (use `dalil users role`)")
        mine = skeleton(name)
        for (other,) in conn.execute("SELECT name FROM users"):
            if skeleton(str(other)) == mine:
                raise UsageError(
                    f"{name!r} looks like the existing user {other!r}; choose a name that"
                    " cannot be mistaken for another"
                )
        _, sealed = signing.new_key(password)
        ledger.append(
            actor,
            "user.added",
            f"user:{name}",
            {"role": role, "key": signing.fingerprint(sealed["public"])},
            {"name": name, "role": role, "password_hash": hash_password(password), "key": sealed},
        )


# ---------------------------------------------------------------------------- names

_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")
"""Default-ignorable characters that are not of category Cf (which is refused as a whole)."""

_LOOKALIKE_NAMES: dict[str, tuple[str, ...]] = {
    "a": ("CYRILLIC SMALL LETTER A", "CYRILLIC CAPITAL LETTER A", "GREEK SMALL LETTER ALPHA",
          "GREEK CAPITAL LETTER ALPHA"),
    "b": ("CYRILLIC CAPITAL LETTER VE", "CYRILLIC SMALL LETTER VE",
          "CYRILLIC CAPITAL LETTER SOFT SIGN", "GREEK CAPITAL LETTER BETA",
          "GREEK SMALL LETTER BETA"),
    "c": ("CYRILLIC SMALL LETTER ES", "CYRILLIC CAPITAL LETTER ES"),
    "d": ("CYRILLIC SMALL LETTER KOMI DE",),
    "e": ("CYRILLIC SMALL LETTER IE", "CYRILLIC CAPITAL LETTER IE", "CYRILLIC SMALL LETTER IO",
          "GREEK CAPITAL LETTER EPSILON", "GREEK SMALL LETTER EPSILON"),
    "h": ("CYRILLIC SMALL LETTER SHHA", "CYRILLIC CAPITAL LETTER EN", "CYRILLIC SMALL LETTER EN",
          "GREEK CAPITAL LETTER ETA"),
    "i": ("CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I", "GREEK SMALL LETTER IOTA"),
    "j": ("CYRILLIC SMALL LETTER JE", "CYRILLIC CAPITAL LETTER JE"),
    "k": ("CYRILLIC CAPITAL LETTER KA", "CYRILLIC SMALL LETTER KA", "GREEK CAPITAL LETTER KAPPA",
          "GREEK SMALL LETTER KAPPA"),
    "l": ("CYRILLIC SMALL LETTER PALOCHKA", "CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I",
          "GREEK CAPITAL LETTER IOTA", "LATIN CAPITAL LETTER I", "DIGIT ONE", "VERTICAL LINE"),
    "m": ("CYRILLIC CAPITAL LETTER EM", "CYRILLIC SMALL LETTER EM", "GREEK CAPITAL LETTER MU"),
    "n": ("GREEK CAPITAL LETTER NU",),
    "o": ("CYRILLIC SMALL LETTER O", "CYRILLIC CAPITAL LETTER O", "GREEK SMALL LETTER OMICRON",
          "GREEK CAPITAL LETTER OMICRON", "DIGIT ZERO"),
    "p": ("CYRILLIC SMALL LETTER ER", "CYRILLIC CAPITAL LETTER ER", "GREEK CAPITAL LETTER RHO",
          "GREEK SMALL LETTER RHO"),
    "q": ("CYRILLIC SMALL LETTER QA",),
    "s": ("CYRILLIC SMALL LETTER DZE", "CYRILLIC CAPITAL LETTER DZE"),
    "t": ("CYRILLIC CAPITAL LETTER TE", "CYRILLIC SMALL LETTER TE", "GREEK CAPITAL LETTER TAU",
          "GREEK SMALL LETTER TAU"),
    "u": ("GREEK SMALL LETTER UPSILON",),
    "v": ("GREEK SMALL LETTER NU",),
    "w": ("CYRILLIC SMALL LETTER WE", "CYRILLIC CAPITAL LETTER WE"),
    "x": ("CYRILLIC SMALL LETTER HA", "CYRILLIC CAPITAL LETTER HA", "GREEK CAPITAL LETTER CHI",
          "GREEK SMALL LETTER CHI"),
    "y": ("CYRILLIC SMALL LETTER U", "CYRILLIC CAPITAL LETTER U", "GREEK CAPITAL LETTER UPSILON"),
    "z": ("GREEK CAPITAL LETTER ZETA",),
}  # fmt: skip
"""Latin letter → characters drawn like it: Cyrillic and Greek look-alikes, and ``I``, ``1``,
``|`` for ``l``, ``0`` for ``o`` (by Unicode name, so that the source shows what they are)."""

_LOOKALIKES = str.maketrans(
    {unicodedata.lookup(name): latin for latin, names in _LOOKALIKE_NAMES.items() for name in names}
)


def check_name(name: str) -> None:
    """Refuse a user name that could pass for another or hide what it is: empty, longer than
    64 characters, with spaces, control or invisible characters (zero-width spaces, joiners,
    direction marks, variation selectors), not in Unicode NFKC form (full-width letters,
    ligatures, Arabic presentation forms), or mixing letters of several scripts. Names in one
    script — Latin, Arabic, any other — are welcome."""
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise UsageError("a user name is 1-64 characters without spaces")
    if unicodedata.normalize("NFKC", name) != name:
        raise UsageError(
            f"write the name as {unicodedata.normalize('NFKC', name)!r} (its plain Unicode"
            " form): full-width letters, ligatures and presentation forms pass for others"
        )
    for c in name:
        category = unicodedata.category(c)
        if category[0] in "CZ" or c in _INVISIBLE or 0xFE00 <= ord(c) <= 0xFE0F:
            raise UsageError(
                f"a user name cannot hold the invisible or control character U+{ord(c):04X}"
            )
    scripts = {_script(c) for c in name if c.isalpha()} - {"MODIFIER"}
    if len(scripts) > 1:
        raise UsageError(
            f"a user name uses one script, not several ({', '.join(sorted(scripts))}):"
            " mixed names pass for others"
        )


_WRITTEN_TOGETHER = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "HANGUL": "CJK"}


def _script(c: str) -> str:
    """The script of a letter, from its Unicode name (scripts written together are one)."""
    first = unicodedata.name(c, "?").split(" ")[0]
    return _WRITTEN_TOGETHER.get(first, first)


def skeleton(name: str) -> str:
    """What ``name`` looks like, for finding names that can be mistaken for each other: NFKC,
    accents and other combining marks and the Arabic tatweel dropped, Cyrillic and Greek
    letters drawn like Latin ones mapped to them (and ``I``, ``1``, ``|`` to ``l``, ``0`` to
    ``o``), digits of every script to ASCII, case folded, ``rn`` read as ``m`` and ``vv`` as
    ``w``. A small, documented subset of Unicode's confusables (UTS #39), not all of it."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name))
    text = "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() else c
        for c in text
        if not unicodedata.combining(c) and c != "\u0640"
    )
    text = text.translate(_LOOKALIKES).casefold()
    return text.replace("rn", "m").replace("vv", "w")


def _existing(conn: Db, name: str) -> None:
    if not conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
        raise UsageError(f"no user {name!r}")


def set_role(conn: Db, ledger: Ledger, actor: str, name: str, role: str) -> None:
    _check_role(role)
    with atomic(conn):
        _require_admin(conn, actor, "change roles")
        _existing(conn, name)
        ledger.append(
            actor, "user.role", f"user:{name}", {"role": role}, {"name": name, "role": role}
        )
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))


def set_disabled(conn: Db, ledger: Ledger, actor: str, name: str, disabled: bool) -> None:
    with atomic(conn):
        _require_admin(conn, actor, "disable or enable accounts")
        _existing(conn, name)
        action = "user.disabled" if disabled else "user.enabled"
        ledger.append(actor, action, f"user:{name}", {}, {"name": name})
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))


def set_password(conn: Db, ledger: Ledger, actor: str, name: str, password: str) -> None:
    """A new password. A person changing their own keeps their key (sealed anew with the new
    password; they proved who they are to act). An administrator resetting someone else's
    gives that account a new key: the administrator cannot read the old one, and the reset is
    the administrator's act in the ledger."""
    check_password_strength(password)
    with atomic(conn):
        if actor != name:
            _require_admin(conn, actor, "set another person's password")
        _existing(conn, name)
        own = signing.key_for(ledger.origin, name) if actor == name else None
        if own is None and actor == name and signing.prover is not None:
            row = conn.execute("SELECT sealed_key FROM users WHERE name = ?", (name,)).fetchone()
            if row and row[0]:
                own = signing.prover(ledger.origin, name, json.loads(row[0]))
        if own is not None:
            sealed, why = signing.seal(own, password), "the same key, sealed anew"
        else:
            sealed, why = signing.new_key(password)[1], "a new key"
        ledger.append(
            actor,
            "user.password",
            f"user:{name}",
            {"key": signing.fingerprint(sealed["public"]), "why": why},
            {"name": name, "password_hash": hash_password(password), "key": sealed},
        )
        conn.execute("UPDATE sessions SET revoked = 1 WHERE user = ?", (name,))


def set_display(
    conn: Db,
    name: str,
    blur: int,
    greyscale: bool,
    language: str | None = None,
    digits: str = "western",
) -> None:
    """A user's own display settings (working state, not evidence: no ledger event):
    ``language`` None follows the browser."""
    if blur not in BLUR_LEVELS:
        raise UsageError(f"blur is one of {BLUR_LEVELS}")
    if language is not None and language not in i18n.LANGUAGES:
        raise UsageError(f"language is one of {', '.join(i18n.LANGUAGES)}")
    if digits not in i18n.DIGITS:
        raise UsageError(f"digits are one of {', '.join(i18n.DIGITS)}")
    with atomic(conn):
        conn.execute(
            "INSERT INTO user_settings (name, blur, greyscale, language, digits)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET blur = excluded.blur,"
            " greyscale = excluded.greyscale, language = excluded.language,"
            " digits = excluded.digits",
            (name, blur, int(greyscale), language, digits),
        )


def check_password(conn: Db, name: str, password: str) -> User | None:
    """The user, if ``password`` is theirs and the account may log in."""
    row = conn.execute(
        "SELECT password_hash FROM users WHERE name = ? AND disabled = 0", (name,)
    ).fetchone()
    if row is None or row[0] is None:
        _HASHER.hash(password)  # same time whether or not the user exists
        return None
    try:
        _HASHER.verify(str(row[0]), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return get(conn, name)

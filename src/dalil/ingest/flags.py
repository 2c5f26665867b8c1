"""Why an item is flagged: every flag Dalil sets, with what it means (docs and error messages
use these words; an unknown flag in a filter is an error, not an empty answer)."""

from __future__ import annotations

FLAGS: dict[str, str] = {
    "empty": "a zero-byte file",
    "unknown_type": "content matches no known file type",
    "extension_mismatch": "the name's extension says another type than the content",
    "corrupt": "the picture cannot be decoded, or its data is damaged",
    "truncated": "the file ends early (a partial copy or a broken transfer)",
    "decompression_bomb": "too many pixels to decode safely (stored, not decoded)",
    "metadata_error": "embedded metadata could not be read completely",
    "decode_warning": "the decoder warned while reading the picture",
    "changed_while_read": "the file changed while it was being read",
    "corrupt_archive": "the archive cannot be read",
    "zip_too_deep": "an archive nested too deep: its members are not expanded",
    "zip_unsafe_path": "member names that would escape the archive (zip slip)",
    "zip_bomb": "members that would expand far beyond their compressed size (not expanded)",
    "zip_duplicate_names": "two or more entries of the archive bear the same name",
}


def check(flag: str) -> str:
    """``flag`` if Dalil knows it (or ``any``); else a usage error naming the choices."""
    from dalil.errors import UsageError

    if flag == "any" or flag in FLAGS:
        return flag
    raise UsageError(f"unknown flag {flag!r}; flags are: any, {', '.join(FLAGS)}")

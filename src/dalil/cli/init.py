"""``dalil init``: create a vault."""

from __future__ import annotations

from dalil import keys
from dalil.cli.app import (
    DEFAULT_VAULT_PATH,
    ActorOption,
    JsonOption,
    VaultOption,
    actor_name,
    app,
    console,
    emit_json,
)
from dalil.vault import Vault


@app.command()
def init(
    vault: VaultOption = DEFAULT_VAULT_PATH,
    as_: ActorOption = None,
    json_: JsonOption = False,
) -> None:
    """Create a new, empty vault (catalogue, object store, signing key, ledger)."""
    created = Vault.init(vault, actor_name(as_))
    public = keys.public_raw_b64(keys.load_public(created.keys_dir))
    if json_:
        emit_json({"vault": str(created.root), "id": created.vault_id, "public_key": public})
        return
    console.print(f"Created vault [bold]{created.root}[/] (id {created.vault_id})")
    console.print(f"Public key (publish it to let others check your checkpoints): {public}")

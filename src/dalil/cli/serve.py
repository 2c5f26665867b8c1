"""``dalil serve``: the web workspace."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dalil.cli.app import DEFAULT_VAULT_PATH, VaultOption, app, console_err


def server_options(
    host: str, port: int, workers: int, trusted_proxies: list[str] | None = None
) -> dict[str, Any]:
    """uvicorn's settings for the workspace. A client's address — what login throttling counts
    and sessions record — is the connection's peer; ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed only from the ``trusted_proxies`` named (by default from
    nobody, not even this machine: anyone on it could claim any address)."""
    trusted = [p.strip() for p in trusted_proxies or [] if p.strip()]
    return {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": ",".join(trusted) if trusted else "",
    }


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    secure_cookies: Annotated[
        bool,
        typer.Option("--secure-cookies", help="Mark cookies Secure (when behind a TLS proxy)."),
    ] = False,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="Address of the reverse proxy in front (repeatable): only its X-Forwarded-For"
            " names the client. Without it the connection's peer is the client.",
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Server processes (0: one per core).")
    ] = 0,
    vault: VaultOption = DEFAULT_VAULT_PATH,
) -> None:
    """Serve the web workspace (logins: `dalil users add NAME --role ROLE`)."""
    import os

    import uvicorn

    from dalil.web.app import create_app

    create_app(vault, secure_cookies=secure_cookies)  # fail here, clearly, if the vault is bad
    os.environ["DALIL_VAULT"] = str(vault.absolute())
    os.environ["DALIL_SECURE_COOKIES"] = "1" if secure_cookies else "0"
    count = workers or os.cpu_count() or 1
    if host not in ("127.0.0.1", "localhost", "::1") and not secure_cookies:
        console_err.print(
            "[yellow]Listening beyond this machine without TLS: put a TLS proxy in front and"
            " pass --secure-cookies."
        )
    console_err.print(f"Dalil serves {vault} at http://{host}:{port} ({count} process(es)).")
    uvicorn.run(
        "dalil.web.app:app_from_environment",
        **server_options(host, port, count, trusted_proxy),
    )

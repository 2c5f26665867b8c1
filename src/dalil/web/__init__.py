"""The web workspace (``dalil serve``): FastAPI, server-rendered Jinja2 pages with htmx, and a
JSON API under ``/api/``. A thin layer over the library, like the CLI: logins and roles
(:mod:`dalil.users`), sessions and CSRF (:mod:`.auth`), blurred-by-default images whose every
reveal is a ledger event (:mod:`.images`), and ingest from the browser (:mod:`.upload`)."""

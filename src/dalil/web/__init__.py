"""The web workspace (``dalil serve``): FastAPI, server-rendered Jinja2 pages with htmx, and a
JSON API under ``/api/``. A thin layer over the library, like the CLI: logins and roles
(:mod:`dalil.users`, :mod:`.login`), sessions and CSRF (:mod:`.auth`), bodies read only once a
request is allowed and never beyond their limit (:mod:`.guard`), blurred-by-default images whose
every reveal is a ledger event (:mod:`.images`), what each role may see of an item
(:mod:`.disclosure`), and ingest from the browser (:mod:`.upload`, :mod:`.receive`,
:mod:`.jobs`). Errors are translated in one place (:mod:`.errors`)."""

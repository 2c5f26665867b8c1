"""Run the per-file stages on a Ray cluster: an executor that looks like the local process pool.

Ingest's read/hash/store/describe/fingerprint stage, near-duplicate matching, OCR and verify's
re-hashing are plain functions over small picklable records (``dalil.ingest.worker``, …). The
local path runs them in a process pool; with ``--ray ADDRESS`` (or ``executor = "ray"`` in
``dalil.toml``) the same functions run as Ray tasks — there is no second implementation. The
process that started the command still does every catalogue and ledger write, once per
result, so the catalogue and ledger stay exactly-once whatever the workers do.

A task whose worker process dies (killed, out of memory, its node lost) is run again by Ray
(:data:`RETRIES` times): the stages are idempotent — an object is written once under its hash
and a second write of the same bytes changes nothing; derivatives are replaced atomically — so
a retried task gives the same result. If the whole cluster goes away, the command stops and
running it again resumes the acquisition, as after ``kill -9`` of a local run.

Workers must see the sources and the vault folder at the same paths as the command (a shared
file system), or keep originals on S3 (``store = "s3://…"``) and sources on shared storage.
Each worker process calls the stage's initializer once (opening the store, the catalogue
read-only) and keeps it for the next tasks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import socket
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

from dalil.errors import UsageError

RETRIES = 3
"""How many times Ray runs a task again after its worker process died."""

_READY: set[str] = set()


def _prepare(setup: tuple[Callable[..., None] | None, tuple[Any, ...]]) -> None:
    """Call the stage's initializer once per worker process (per distinct set-up)."""
    initializer, initargs = setup
    if initializer is None:
        return
    key = hashlib.sha256(pickle.dumps((initializer.__module__, initializer.__name__, initargs)))
    if key.hexdigest() not in _READY:
        initializer(*initargs)
        _READY.add(key.hexdigest())


def _run_one(
    setup: tuple[Callable[..., None] | None, tuple[Any, ...]],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    _prepare(setup)
    return fn(*args, **kwargs)


def _run_batch(
    setup: tuple[Callable[..., None] | None, tuple[Any, ...]],
    fn: Callable[..., Any],
    batch: list[tuple[Any, ...]],
) -> list[Any]:
    _prepare(setup)
    return [fn(*args) for args in batch]


def check_reachable(address: str) -> None:
    """Fail fast, and clearly, when nothing listens at ``host:port`` (Ray itself keeps trying
    to connect for minutes); "auto" is left to Ray (it reads this machine's cluster file)."""
    if not address or address == "auto":
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(
            f"no Ray cluster answers at {address} ({reason}); start one (ray start --head) or"
            " give its address (host:port)"
        ) from None


class RayExecutor(Executor):
    """A :class:`concurrent.futures.Executor` whose work runs as Ray tasks on a cluster."""

    def __init__(
        self,
        address: str,
        initializer: Callable[..., None] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError(
                "Ray is not installed here: pip install 'dalil[ray]' (on this machine and on the"
                " cluster's nodes, the same version)"
            ) from None
        self._ray: Any = ray
        self._owns = not self._ray.is_initialized()
        if self._owns:
            check_reachable(address)
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            try:
                self._ray.init(
                    address=address or "auto",
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                    configure_logging=True,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UsageError(f"cannot join the Ray cluster at {address}: {exc}") from None
        self._setup = (initializer, initargs)
        remote: Any = self._ray.remote(max_retries=RETRIES, retry_exceptions=False)
        self._one: Any = remote(_run_one)
        self._batch: Any = remote(_run_batch)

    @property
    def workers(self) -> int:
        """CPUs the cluster offers to tasks (how many run at once)."""
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = self._one.remote(self._setup, fn, args, kwargs).future()
        return future

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        """Results in order; ``chunksize`` items per task (a task costs a few milliseconds)."""
        items = list(zip(*iterables, strict=False))
        size = max(1, chunksize)
        refs = [
            self._batch.remote(self._setup, fn, items[i : i + size])
            for i in range(0, len(items), size)
        ]

        def results() -> Iterator[Any]:
            for ref in refs:
                yield from self._ray.get(ref, timeout=timeout)

        return results()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()  # this process leaves the cluster; the cluster stays up

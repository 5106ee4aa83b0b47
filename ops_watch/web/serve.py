"""Run the console under uvicorn on `[web] listen`, with the certificate files when `[web] tls_cert` is set
(otherwise TLS is the reverse proxy's: docs/console.md), logging through the project's structlog set-up."""

from __future__ import annotations

import ctypes
import logging
import sys

import uvicorn

from ops_watch.core.log import get_logger
from ops_watch.runtime import Runtime
from ops_watch.web.app import create_app

log = get_logger(__name__)


def host_port(listen: str) -> tuple[str, int]:
    """ "127.0.0.1:8080" -> ("127.0.0.1", 8080); "[::1]:8080" -> ("::1", 8080) (validated by WebConfig)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def server(runtime: Runtime, *, listen: str | None = None) -> uvicorn.Server:
    """A uvicorn server for the console (not started): `serve()` runs it; tests run it in a thread."""
    web = runtime.config.web
    host, port = host_port(listen or web.listen)
    trusted = ",".join(web.trusted_proxies) or "127.0.0.1"
    config = uvicorn.Config(
        create_app(runtime),
        host=host,
        port=port,
        ssl_certfile=str(runtime.config.resolve(web.tls_cert)) if web.tls_cert else None,
        ssl_keyfile=str(runtime.config.resolve(web.tls_key)) if web.tls_key else None,
        log_config=None,  # keep the project's logging (core.log.setup_logging routes stdlib logging)
        access_log=False,
        proxy_headers=False,  # the console reads X-Forwarded-* itself, from [web] trusted_proxies only
        forwarded_allow_ips=trusted,
        server_header=False,
        date_header=True,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
M_ARENA_MAX = -8
MMAP_THRESHOLD = 1024 * 1024


def tune_malloc() -> bool:
    """Keep the console's memory to what its pages use (bench/web.py), where the C library is glibc:
    - two malloc arenas, not one per thread (up to 8 per core), each keeping what its pages freed;
    - blocks of 1 MiB and more always mapped apart, so freeing one gives it back. By default glibc raises
      that threshold to the largest block freed: after a login's Argon2 hash (19 MiB) every later one would
      come from the heap and stay there.
    Before the threads start; False where it is not glibc (nothing changes)."""
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_ARENA_MAX, 1)) and bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


def serve(runtime: Runtime, *, listen: str | None = None) -> None:
    """Serve until SIGINT/SIGTERM."""
    tune_malloc()
    # A page waiting on the database gets the interpreter back within 1 ms, not 5, while a shared figure is
    # computed in the background (store/shared.py): a list page does a dozen such waits (bench/web.py).
    sys.setswitchinterval(0.001)
    srv = server(runtime, listen=listen)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    scheme = "https" if runtime.config.web.tls_cert else "http"
    log.info(
        "console listening / 控制台已启动",
        url=f"{scheme}://{srv.config.host}:{srv.config.port}/",
        store=runtime.store.engine.url.render_as_string(hide_password=True),
    )
    srv.run()  # on SIGTERM uvicorn finishes the requests under way, then re-raises the signal

"""`muster run`: hold the database, then the port, then start the service behind uvicorn.

Order matters. uvicorn runs the application's start-up (outbox recovery, Telegram webhook
registration, dispatch) before it would bind its own socket, so a start that then died on a busy
port would already have done all of that. Here nothing starts until both the database lock and
the listening socket are held, and an unusable database is refused in one line.
"""
from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import uvicorn

from bot.config import Settings
from bot.service import Service
from storage import DatabaseUnusable, open_database
from storage.lock import DatabaseInUse, DatabaseLock

log = logging.getLogger(__name__)


class CannotStart(Exception):
    """The service cannot start; the message says why in one line."""


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen now: connections wait in the backlog until the service is up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CannotStart(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def hold(settings: Settings, role: str = "muster run") -> DatabaseLock:
    """The database lock, or CannotStart naming who holds it."""
    lock = DatabaseLock(settings.db_path, role)
    if settings.shared_database:  # PostgreSQL: several workers share it, so there is nothing to hold
        return lock
    try:
        return lock.acquire()
    except DatabaseInUse as exc:
        raise CannotStart(str(exc)) from None
    except OSError as exc:
        raise CannotStart(f"cannot create the lock file {lock.path}: {exc.strerror or exc} "
                          "(does the database's folder exist, and may this user write there?)") from None


async def serve(settings: Settings, on_listening: Callable[[str], object] | None = None) -> int:
    """Run until stopped; returns the exit code. Raises CannotStart before anything has started."""
    lock = hold(settings)
    service: Service | None = None
    try:
        sock = listen(settings.host, settings.port)
        try:
            db = await open_database(settings.database, check=True)
        except DatabaseUnusable as exc:
            sock.close()
            raise CannotStart(str(exc)) from None
        try:
            service = Service(settings, lock=lock, db=db)
        except BaseException:
            sock.close()
            await db.close()  # its thread would keep the process alive
            raise
        host, port = sock.getsockname()[:2]
        log.info("listening on http://%s:%d", host, port)
        if on_listening:
            on_listening(f"http://{host}:{port}/")
        config = uvicorn.Config(service.app, log_config=None, log_level=settings.log_level.lower(), lifespan="on")
        server = uvicorn.Server(config)
        await server.serve(sockets=[sock])
        return 0 if server.started else 3
    finally:
        if service is not None and service.db is not None:  # the application never started
            await service.db.close()
        lock.release()

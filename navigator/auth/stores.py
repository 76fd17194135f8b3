"""Where logins and failed-login counts live: Redis in lab mode, this machine otherwise.

Lab mode shares Redis with the bus, so the logins and the counts survive a web restart and
are the same for every web thread. Without Redis (the embedded server with password logins on
a non-loopback host) logins are files under ``<data_dir>/logins`` (folder 0700, files 0600:
they are as good as a password while they hold) and the counts are in memory.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from cachelib.file import FileSystemCache
from flask import Flask, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_session.base import ServerSideSession, ServerSideSessionInterface
from flask_session.cachelib import CacheLibSessionInterface
from flask_session.redis import RedisSessionInterface

from navigator.config import ServerConfig

SESSION_PREFIX = "navigator:session:"  # Redis keys (and cache keys) of the logins
ANONYMOUS_LIFETIME = timedelta(hours=1)
MAX_LOGIN_FILES = 10_000  # beyond this cachelib drops expired logins first, then some others


class _Sessions(ServerSideSessionInterface):
    """What both stores add to Flask-Session's.

    The cookie's ``Secure`` flag: as configured, or (unset) exactly when the request came over
    HTTPS, so that the same server works on plain HTTP on a trusted network and never hands
    out a login cookie that a plain-HTTP request would carry once it is behind TLS.

    A session without a login (a visitor of the login form, holding only its CSRF token) is
    kept an hour at most: anyone may create one, so they must not pile up for a day.
    """

    cookie_secure: bool | None = None

    def get_cookie_secure(self, app: Flask) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return has_request_context() and request.is_secure

    def _upsert_session(self, session_lifetime: timedelta, session: ServerSideSession,
                        store_id: str) -> None:
        if "_user_id" not in session and "ended" not in session:
            session_lifetime = min(session_lifetime, ANONYMOUS_LIFETIME)
        super()._upsert_session(session_lifetime, session, store_id)


class _RedisSessions(_Sessions, RedisSessionInterface):
    pass


class _FileSessions(_Sessions, CacheLibSessionInterface):
    pass


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner may enter (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def session_store(app: Flask, config: ServerConfig) -> Any:
    """The server-side session interface for ``app``'s logins."""
    store: _Sessions
    if config.redis_url:
        import redis

        client = redis.Redis.from_url(config.redis_url, socket_timeout=5)
        store = _RedisSessions(app, client=client, key_prefix=SESSION_PREFIX)
    else:
        cache = FileSystemCache(str(private_dir(config.data_dir / "logins")),
                                threshold=MAX_LOGIN_FILES, mode=0o600)
        store = _FileSessions(app, client=cache, key_prefix=SESSION_PREFIX)
    store.cookie_secure = config.cookie_secure
    return store


def login_limiter(app: Flask, config: ServerConfig) -> Limiter:
    """Flask-Limiter on ``app`` with no default limits (only the login form is limited)."""
    uri = config.redis_url or "memory://"
    if uri.startswith("unix://"):
        uri = "redis+unix://" + uri.removeprefix("unix://")
    return Limiter(get_remote_address, app=app, storage_uri=uri, key_prefix="navigator:login",
                   strategy="fixed-window")

"""Configuration dataclasses, resolved once in the CLI and passed down.

Precedence: command-line flag > environment variable ``NAVIGATOR_<FIELD>`` >
TOML file (section ``[server]`` or ``[worker]``) > the defaults below. Every value
is validated, and a bad one is reported with where it came from.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

T = TypeVar("T", "ServerConfig", "WorkerConfig")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("navigator"))


def _check_redis(url: str | None) -> None:
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"redis_url must start with redis://, rediss:// or unix://, got {url!r}")


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``: the embedded default needs no login there."""
    return host in ("localhost", "::1") or host.startswith("127.")


def _check_device(device: str) -> None:
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8050
    redis_url: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    secret: str = ""
    device: str = "auto"
    embedded_workers: int = 1
    max_sessions_per_user: int = 2  # queued + running + paused sessions of one user; 0 = no limit
    auth: str = ""  # "none" | "password"; "" picks: password for Redis or a non-loopback host
    session_hours: float = 12.0  # lifetime of a login cookie
    users_file: Path | None = None  # default <data_dir>/users.json

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()
        if self.users_file is not None:
            self.users_file = Path(self.users_file).expanduser()
        if not self.auth:
            self.auth = "password" if self.redis_url or not is_loopback(self.host) else "none"
        if self.auth not in ("none", "password"):
            raise ValueError(f"auth must be 'none' or 'password', got {self.auth!r}")
        if self.redis_url and self.auth == "none":
            raise ValueError("lab mode (a Redis URL) needs logins: auth 'none' would let anyone "
                             "who reaches the server steer every session; drop NAVIGATOR_AUTH=none "
                             "(or set it to 'password') and add users with `navigator users add`")
        if (not isinstance(self.session_hours, (int, float)) or isinstance(self.session_hours, bool)
                or not self.session_hours > 0):
            raise ValueError(f"session_hours must be a positive number, got {self.session_hours!r}")
        if not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, got {self.port!r}")
        _check_redis(self.redis_url)
        _check_device(self.device)
        if not isinstance(self.embedded_workers, int) or self.embedded_workers < 0:
            raise ValueError(f"embedded_workers must be >= 0, got {self.embedded_workers!r}")
        if not isinstance(self.max_sessions_per_user, int) or self.max_sessions_per_user < 0:
            raise ValueError("max_sessions_per_user must be >= 0 (0 = no limit), "
                             f"got {self.max_sessions_per_user!r}")
        # A generated secret changes at each start and differs between processes: fine for the
        # embedded default, not for a server whose logins must survive a restart.
        self._secret_generated = not self.secret
        if not self.secret:
            if self.redis_url:
                raise ValueError("lab mode (a Redis URL) needs a session secret: set "
                                 "NAVIGATOR_SECRET or 'secret' in the [server] section")
            self.secret = secrets.token_hex(16)

    @property
    def lab_mode(self) -> bool:
        return bool(self.redis_url)

    @property
    def login_required(self) -> bool:
        return self.auth == "password"

    @property
    def secret_generated(self) -> bool:
        """Whether no secret was configured and a random one is used for this run."""
        return self._secret_generated

    @property
    def users_path(self) -> Path:
        return self.users_file or self.data_dir / "users.json"

    @property
    def recording_path(self) -> Path:
        return self.data_dir / "recordings.sqlite"


@dataclass
class WorkerConfig:
    redis_url: str | None = None
    data_dir: Path = field(default_factory=default_data_dir)
    device: str = "auto"
    max_sessions: int = 1
    lease_ttl_s: float = 10.0  # a dead worker's sessions are taken over after at most this long

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).expanduser()
        _check_redis(self.redis_url)
        _check_device(self.device)
        if not isinstance(self.max_sessions, int) or self.max_sessions < 1:
            raise ValueError(f"max_sessions must be a positive integer, got {self.max_sessions!r}")
        if (not isinstance(self.lease_ttl_s, (int, float)) or isinstance(self.lease_ttl_s, bool)
                or not self.lease_ttl_s > 0):
            raise ValueError(f"lease_ttl_s must be a positive number, got {self.lease_ttl_s!r}")

    @property
    def checkpoint_dir(self) -> Path:
        return self.data_dir / "checkpoints"


def _coerce(name: str, raw: str, target: Any, origin: str) -> Any:
    if target is int or target == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{origin}: {name} must be an integer, got {raw!r}") from None
    if target is float or target == "float":
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{origin}: {name} must be a number, got {raw!r}") from None
    return raw


def resolve(cls: type[T], cli: Mapping[str, Any] | None = None, toml_path: str | Path | None = None,
            env: Mapping[str, str] | None = None) -> T:
    """Build ``cls`` from flags > NAVIGATOR_* environment > TOML section > defaults."""
    env = os.environ if env is None else env
    section = "server" if cls is ServerConfig else "worker"
    names = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    if toml_path:
        path = Path(toml_path)
        try:
            doc = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"config file {path} is not valid TOML: {exc}") from None
        table = doc.get(section, {})
        unknown = sorted(set(table) - set(names))
        if unknown:
            raise ValueError(f"{path} [{section}]: unknown key(s) {unknown}; known: {sorted(names)}")
        values.update(table)
    for name, f in names.items():
        key = f"NAVIGATOR_{name.upper()}"
        if key in env:
            values[name] = _coerce(name, env[key], f.type, f"environment {key}")
    values.update({k: v for k, v in (cli or {}).items() if v is not None and k in names})
    return cls(**values)

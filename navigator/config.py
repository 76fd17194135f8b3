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
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import platformdirs
from pydantic import AfterValidator, Field, PrivateAttr, model_validator

from supernet.validation import InvalidData, Lax, Model, Problem, requirement, validate

T = TypeVar("T", "ServerConfig", "WorkerConfig")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("navigator"))


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``: the embedded default needs no login there."""
    return host in ("localhost", "::1") or host.startswith("127.")


def _is_device(device: str) -> bool:
    return device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit())


Directory = Annotated[Path, Lax, AfterValidator(Path.expanduser)]
RedisUrl = Annotated[str | None, requirement(
    lambda url: not url or url.startswith(("redis://", "rediss://", "unix://")),
    "must start with redis://, rediss:// or unix://")]
DeviceName = Annotated[str, requirement(_is_device, "must be 'auto', 'cpu', 'cuda' or 'cuda:N'")]


class ServerConfig(Model):
    host: Annotated[str, Field(min_length=1, description="a host name or IP address")] = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535, description="an integer from 0 to 65535")] = 8050
    redis_url: RedisUrl = None
    data_dir: Directory = Field(default_factory=default_data_dir)
    secret: str = ""
    device: DeviceName = "auto"
    embedded_workers: Annotated[int, Field(ge=0)] = 1
    # queued + running + paused sessions of one user; 0 = no limit
    max_sessions_per_user: Annotated[int, Field(ge=0, description=">= 0 (0 = no limit)")] = 2
    # "" picks: password for Redis or a non-loopback host
    auth: Annotated[Literal["", "none", "password"], Field(description="'none' or 'password'")] = ""
    # lifetime of a login cookie; a year at most, so that an expiry date can be computed
    session_hours: Annotated[float, Field(gt=0, le=8760, description=(
        "a positive number of hours, at most 8760 (a year)"))] = 12.0
    users_file: Directory | None = None  # default <data_dir>/users.json
    # folders whose files analysts may name (datasets, tables); see `user_data_roots`
    data_roots: tuple[Directory, ...] | None = None
    _secret_generated: bool = PrivateAttr(False)

    @model_validator(mode="after")
    def _lab_mode_is_safe(self) -> ServerConfig:
        if not self.auth:
            self.auth = "password" if self.redis_url or not is_loopback(self.host) else "none"
        if self.redis_url and self.auth == "none":
            raise ValueError("lab mode (a Redis URL) needs logins: auth 'none' would let anyone "
                             "who reaches the server steer every session; drop NAVIGATOR_AUTH=none "
                             "(or set it to 'password') and add users with `navigator users add`")
        # A generated secret changes at each start and differs between processes: fine for the
        # embedded default, not for a server whose logins must survive a restart.
        self._secret_generated = not self.secret
        if not self.secret:
            if self.redis_url:
                raise ValueError("lab mode (a Redis URL) needs a session secret: set "
                                 "NAVIGATOR_SECRET or 'secret' in the [server] section")
            self.secret = secrets.token_hex(16)
        return self

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

    @property
    def user_data_roots(self) -> tuple[Path, ...] | None:
        """Where the embedded workers may read files an analyst names: anywhere for the local
        single-user default (the analyst owns the machine), else only the configured roots."""
        if self.data_roots is not None:
            return self.data_roots
        return None if self.auth == "none" else (self.data_dir / "datasets",)


class WorkerConfig(Model):
    redis_url: RedisUrl = None
    data_dir: Directory = Field(default_factory=default_data_dir)
    device: DeviceName = "auto"
    max_sessions: Annotated[int, Field(ge=1, description="a positive integer")] = 1
    # a dead worker's sessions are taken over after at most this long
    lease_ttl_s: Annotated[float, Field(gt=0, description="a positive number of seconds")] = 10.0
    # folders whose files analysts may name; default <data_dir>/datasets
    data_roots: tuple[Directory, ...] | None = None

    @property
    def checkpoint_dir(self) -> Path:
        return self.data_dir / "checkpoints"

    @property
    def user_data_roots(self) -> tuple[Path, ...]:
        """A lab worker serves users it does not know: it reads only under admin-chosen roots."""
        return self.data_roots if self.data_roots is not None else (self.data_dir / "datasets",)


def _coerce(name: str, raw: str, target: Any, origin: str) -> Any:
    """An environment variable's text as the field's scalar type; the model checks the rest.
    A list of folders is separated by the platform's path separator, as in PATH."""
    if name == "data_roots":
        return [part for part in raw.split(os.pathsep) if part]
    if target is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{origin}: {name} must be an integer, got {raw!r}") from None
    if target is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{origin}: {name} must be a number, got {raw!r}") from None
    return raw


def resolve(cls: type[T], cli: Mapping[str, Any] | None = None, toml_path: str | Path | None = None,
            env: Mapping[str, str] | None = None) -> T:
    """Build ``cls`` from flags > NAVIGATOR_* environment > TOML section > defaults; a bad
    value is reported with where it came from (flag, variable or file)."""
    env = os.environ if env is None else env
    section = "server" if cls is ServerConfig else "worker"
    names = cls.model_fields
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if toml_path:
        path = Path(toml_path)
        try:
            doc = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"config file {path} is not valid TOML: {exc}") from None
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise ValueError(f"config file {path}: [{section}] must be a table")
        values.update(table)
        sources.update(dict.fromkeys(table, f"config file {path} [{section}]"))
    for name, info in names.items():
        key = f"NAVIGATOR_{name.upper()}"
        if key in env:
            values[name] = _coerce(name, env[key], info.annotation, f"environment {key}")
            sources[name] = f"environment {key}"
    for name, value in (cli or {}).items():
        if value is not None and name in names:
            values[name] = value
            sources[name] = f"flag --{name.replace('_', '-')}"
    try:
        return validate(cls, values, f"{section} config")
    except InvalidData as exc:
        raise ValueError("\n".join(_explain(p, sources, section) for p in exc.problems)) from None


def _explain(problem: Problem, sources: Mapping[str, str], section: str) -> str:
    name = problem.keys[0] if problem.kind == "unknown" and not problem.path else \
        (str(problem.path[0]) if problem.path else "")
    return f"{sources.get(name, f'{section} config')}: {problem.describe()}"

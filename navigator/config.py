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
MIN_SECRET = 32  # characters of a configured login secret: 128 bits as hex


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
    file_roots: list[Directory] | None = None
    # the login cookie's Secure flag: None sets it exactly on requests that came over HTTPS
    # (directly, or per X-Forwarded-Proto from a proxy gunicorn trusts: --forwarded-allow-ips)
    cookie_secure: bool | None = None
    # open sockets of one logged-in user (each holds a connection of the web); 0 = no limit
    max_sockets_per_login: Annotated[int, Field(ge=0, description=">= 0 (0 = no limit)")] = 20
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
        elif self.auth == "password" and len(self.secret) < MIN_SECRET:
            # The value itself is never shown: it may be a real, if weak, secret.
            raise ValueError(f"secret must have at least {MIN_SECRET} characters (128 bits) when "
                             f"it protects logins (it has {len(self.secret)}); generate one with "
                             f"`openssl rand -hex 32` or `python -c 'import secrets; "
                             f"print(secrets.token_hex(32))'`")
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
        if self.file_roots is not None:
            return tuple(self.file_roots)
        return None if self.auth == "none" else (self.data_dir / "datasets",)

    @model_validator(mode="after")
    def _embedded_device_exists(self) -> ServerConfig:
        """Embedded workers train in this process, so a GPU it lacks is a startup error; torch
        is imported only then (the lab's web, with no embedded workers, never imports it)."""
        if self.embedded_workers and self.device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValueError(f"device must be 'auto' or 'cpu': no CUDA device is available "
                                 f"on this machine for the embedded workers, got {self.device!r} "
                                 f"(or serve with --embedded-workers 0 and run `navigator "
                                 f"worker` on the GPU hosts)")
        return self


class WorkerConfig(Model):
    redis_url: RedisUrl = None
    data_dir: Directory = Field(default_factory=default_data_dir)
    device: DeviceName = "auto"
    max_sessions: Annotated[int, Field(ge=1, description="a positive integer")] = 1
    # a dead worker's sessions are taken over after at most this long
    lease_ttl_s: Annotated[float, Field(gt=0, description="a positive number of seconds")] = 10.0
    # folders whose files analysts may name; default <data_dir>/datasets
    file_roots: list[Directory] | None = None
    # `navigator lab`: the Ray cluster to join ("auto": the one this host belongs to), where
    # checkpoints live for every node (a shared directory or an fsspec URI such as s3://...;
    # default <data_dir>/checkpoints) and the accelerator type GPU sessions ask for
    ray_address: Annotated[str, Field(min_length=1)] = "auto"
    storage: str | None = None
    accelerator_type: str | None = None

    @property
    def checkpoint_dir(self) -> Path:
        return self.data_dir / "checkpoints"

    @property
    def user_data_roots(self) -> tuple[Path, ...]:
        """A lab worker serves users it does not know: it reads only under admin-chosen roots."""
        return tuple(self.file_roots) if self.file_roots is not None else (self.data_dir / "datasets",)


def _coerce(name: str, raw: str, target: Any, origin: str) -> Any:
    """An environment variable's text as the field's scalar type; the model checks the rest.
    A list of folders is separated by the platform's path separator, as in PATH."""
    if name == "file_roots":
        return [part for part in raw.split(os.pathsep) if part]
    if target is int:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{origin}: {name} must be an integer, got {raw!r}") from None
    if target in (bool, bool | None):
        flag = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if raw.strip().lower() not in flag:
            raise ValueError(f"{origin}: {name} must be true or false, got {raw!r}")
        return flag[raw.strip().lower()]
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
    """The problem with its source; a check across fields whose message starts with a field's
    name ("secret must ...") is that field's."""
    name = problem.keys[0] if problem.kind == "unknown" and not problem.path else \
        (str(problem.path[0]) if problem.path else problem.expected.partition(" ")[0])
    return f"{sources.get(name, f'{section} config')}: {problem.describe()}"

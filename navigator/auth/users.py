"""Who may log in: users with *hashed* passwords in a file and/or the environment.

Passwords are werkzeug scrypt or pbkdf2 hashes, never plain text, in a JSON or TOML file
(``navigator users add`` writes it, 0600) and/or in ``NAVIGATOR_USERS`` so that a container
can be configured without a file.
"""

from __future__ import annotations

import json
import os
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from navigator.config import ServerConfig

LOCAL_USER = "local"
ROLES = ("admin", "analyst")
USERS_ENV = "NAVIGATOR_USERS"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 8
# Checked against when a user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anyone")


class AuthError(ValueError):
    """A failed login or an invalid user definition; the message is meant for the person."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise AuthError(f"user name must be 1-64 letters, digits or . _ @ - (starting with a letter "
                        f"or digit), got {name!r}")
    if name == LOCAL_USER:
        raise AuthError(f"{LOCAL_USER!r} is the user of the embedded default and cannot log in")
    return name


def _check_role(role: str, origin: str) -> str:
    if role not in ROLES:
        raise AuthError(f"{origin}: role must be one of {ROLES}, got {role!r}")
    return role


def parse_env_users(value: str) -> dict[str, User]:
    """``NAVIGATOR_USERS="alice:<hash>,bob:admin:<hash>"``: name, optional role, werkzeug hash.

    The hash itself contains colons (``scrypt:32768:8:1$salt$hex``), so the name is split off at
    the first colon and a role only when the next field is one of :data:`ROLES`.
    """
    users: dict[str, User] = {}
    for entry in filter(None, (e.strip() for e in value.split(","))):
        name, sep, rest = entry.partition(":")
        if not sep or not rest:
            raise AuthError(f"{USERS_ENV}: entry {entry[:40]!r} must be NAME:HASH or NAME:ROLE:HASH")
        role, sep, hashed = rest.partition(":")
        if sep and role in ROLES:
            rest = hashed
        else:
            role = "analyst"
        if "$" not in rest:
            raise AuthError(f"{USERS_ENV}: the password of {name!r} must be a werkzeug hash "
                            "(navigator users hash), not plain text")
        users[check_name(name)] = User(name, role, rest)
    return users


class UserStore:
    """Users from a JSON/TOML file plus ``NAVIGATOR_USERS``; the environment wins on a clash.

    File format (JSON; TOML has the same tables)::

        {"users": {"alice": {"password_hash": "scrypt:...", "role": "admin"}}}

    The file is re-read when it changes on disk, so ``navigator users add`` takes effect on a
    running server without a restart.
    """

    def __init__(self, path: str | Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else None
        self._env_users = parse_env_users((os.environ if env is None else env).get(USERS_ENV, ""))
        self._file_users: dict[str, User] = {}
        self._mtime: float | None = None
        self._lock = threading.Lock()
        self._refresh()

    @classmethod
    def from_config(cls, config: ServerConfig) -> UserStore:
        return cls(config.users_path)

    def _refresh(self) -> None:
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            self._file_users, self._mtime = {}, None
            return
        if mtime != self._mtime:
            self._file_users, self._mtime = self._read(self.path), mtime

    @staticmethod
    def _read(path: Path) -> dict[str, User]:
        text = path.read_text()
        try:
            doc = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text or "{}")
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise AuthError(f"users file {path} is not valid {path.suffix[1:] or 'JSON'}: {exc}") from None
        table = doc.get("users", {}) if isinstance(doc, dict) else None
        if not isinstance(table, dict):
            raise AuthError(f"users file {path}: expected a 'users' table of name -> "
                            "{password_hash, role}")
        users = {}
        for name, entry in table.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("password_hash"), str):
                raise AuthError(f"users file {path}: user {name!r} needs a 'password_hash' string")
            role = _check_role(entry.get("role", "analyst"), f"users file {path}, user {name!r}")
            users[check_name(name)] = User(name, role, entry["password_hash"])
        return users

    def _write(self) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        users = dict(sorted(self._file_users.items()))
        if self.path.suffix == ".toml":  # JSON strings are valid TOML basic strings
            text = "".join(f"[users.{json.dumps(u.name)}]\npassword_hash = {json.dumps(u.password_hash)}\n"
                           f"role = {json.dumps(u.role)}\n\n" for u in users.values())
        else:
            text = json.dumps({"users": {u.name: {"password_hash": u.password_hash, "role": u.role}
                                         for u in users.values()}}, indent=2) + "\n"
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # hashes stay private
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, self.path)
        self._mtime = self.path.stat().st_mtime

    def users(self) -> list[User]:
        with self._lock:
            self._refresh()
            return sorted((self._file_users | self._env_users).values(), key=lambda u: u.name)

    def get(self, name: str) -> User | None:
        with self._lock:
            self._refresh()
            return self._env_users.get(name) or self._file_users.get(name)

    def add_user(self, name: str, password: str, role: str = "analyst") -> User:
        """Hash ``password`` and write the user to the file (replacing one of the same name)."""
        if self.path is None:
            raise AuthError("this user store has no file to write to")
        check_name(name)
        _check_role(role, "add_user")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise AuthError(f"password must have at least {MIN_PASSWORD} characters")
        user = User(name, role, generate_password_hash(password))
        with self._lock:
            self._refresh()
            self._file_users[name] = user
            self._write()
        return user

    def remove_user(self, name: str) -> None:
        with self._lock:
            self._refresh()
            if name not in self._file_users:
                raise AuthError(f"no user {name!r} in {self.path}")
            del self._file_users[name]
            self._write()

    def verify(self, name: str, password: str) -> User:
        """The user if ``password`` is right; AuthError with one message for any mismatch
        (a wrong name and a wrong password look the same, so names cannot be probed)."""
        user = self.get(name) if isinstance(name, str) else None
        ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password or "")
        if user is None or not ok:
            raise AuthError("wrong user name or password")
        return user



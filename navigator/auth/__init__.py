"""Users, logins and access rights for the lab server.

Modules, one job each: :mod:`.users` (:class:`UserStore`: who may log in, with hashed
passwords), :mod:`.access` (:class:`AccessPolicy`: who may watch and steer a session),
:mod:`.login` (:func:`install_login`: every Flask route behind ``/login``, the user coming
only from the server-side session behind the cookie) and :mod:`.stores` (where logins and
failed-login counts live). The names below are the package's public surface.

The embedded default (127.0.0.1, no Redis) runs with ``auth = "none"``: one user, ``local``,
owner of everything, and no login page.
"""

from navigator.auth.access import EVERYONE, SHARE, AccessDenied, AccessPolicy, SessionAccess
from navigator.auth.login import (
    SESSION_COOKIE,
    cookie_problem,
    install_login,
    login_is_fresh,
    session_lifetime,
)
from navigator.auth.users import (
    LOCAL_USER,
    MIN_PASSWORD,
    ROLES,
    AuthError,
    User,
    UserStore,
    check_name,
    parse_env_users,
)

__all__ = [
    "EVERYONE", "LOCAL_USER", "MIN_PASSWORD", "ROLES", "SESSION_COOKIE", "SHARE", "AccessDenied",
    "AccessPolicy", "AuthError", "SessionAccess", "User", "UserStore", "check_name",
    "cookie_problem", "install_login", "login_is_fresh", "parse_env_users", "session_lifetime",
]

"""Logging in and out over HTTP as a browser does: the form's CSRF token first."""

from __future__ import annotations

import re

import requests

TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(http: requests.Session, url: str, path: str = "/login") -> str:
    """The CSRF token of the form at ``path``, for the session cookie that ``http`` holds."""
    page = http.get(url + path, timeout=10)
    found = TOKEN_RE.search(page.text)
    assert found, f"no csrf_token in {path}: {page.status_code} {page.text[:200]}"
    return found.group(1)


def post_login(http: requests.Session, url: str, user: str, password: str,
               next_path: str = "/") -> requests.Response:
    """POST the login form (its token fetched first); the reply, redirects not followed."""
    token = csrf_token(http, url)
    return http.post(f"{url}/login", data={"username": user, "password": password,
                                           "next": next_path, "csrf_token": token},
                     allow_redirects=False, timeout=10)


def post_logout(http: requests.Session, url: str) -> requests.Response:
    """POST the logout form with its token, as its button does."""
    return http.post(f"{url}/logout", data={"csrf_token": csrf_token(http, url, "/logout")},
                     timeout=10)

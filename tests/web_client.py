"""A visitor of the dashboard over plain HTTP on loopback that keeps its session cookie by hand (the cookie
is Secure, so an ordinary cookie jar would not send it back over http://127.0.0.1)."""
from __future__ import annotations

import html
import re
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Visitor:
    """`address`: sent as X-Forwarded-For, for a server that trusts its proxy (CAPACITY_BEHIND_PROXY)."""

    def __init__(self, url: str, address: str | None = None) -> None:
        self.client = httpx.Client(base_url=url, timeout=10, follow_redirects=False)
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []
        self.address = address

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.address:
            headers.setdefault("X-Forwarded-For", self.address)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.client.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "expires=thu, 01 jan 1970" not in header.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def csrf(self, path: str = "/login") -> str:
        match = CSRF.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return html.unescape(match.group(1))

    def log_in(self, name: str, password: str) -> httpx.Response:
        return self.post("/login", data={"csrf": self.csrf(), "name": name, "password": password})

    def close(self) -> None:
        self.client.close()

"""The local users file: names, roles and argon2id password hashes (never a password itself).

    [[user]]
    name = "anne"
    role = "professional"
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."

Managed with `capacity users add|remove|list`; read again whenever the file changes, so removing a user
or changing a role takes effect at that user's next request.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from queries import settings
from queries.errors import CapacityError

NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
MIN_PASSWORD_LENGTH = 12
ROLES = ("public", "professional", "steward")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone")
_cache: dict[Path, tuple[tuple[int, int], dict[str, "User"]]] = {}


class UsersFileError(CapacityError):
    """The users file cannot be read or a change to it is refused."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


def users_file(data_root: Path) -> Path:
    """CAPACITY_USERS_FILE, else users.toml in the data folder."""
    chosen = settings.get("users_file")
    return Path(chosen).resolve() if chosen else data_root / "users.toml"


def read_users(path: Path) -> dict[str, User]:
    """Every user in the file (empty when there is no file); cached until the file changes."""
    try:
        stat = path.stat()
        mtime = (stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        return {}
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsersFileError(f"Gebruikersbestand {path} is onleesbaar: {error}",
                             f"Users file {path} cannot be read: {error}") from None
    users = {}
    for number, entry in enumerate(document.get("user", []), start=1):
        user = _checked_entry(path, number, entry)
        users[user.name] = user
    _cache[path] = (mtime, users)
    return users


def _checked_entry(path: Path, number: int, entry: object) -> User:
    if not isinstance(entry, dict):
        raise UsersFileError(f"{path}: gebruiker {number} is geen tabel", f"{path}: user {number} is not a table")
    name, role, hashed = entry.get("name"), entry.get("role"), entry.get("password_hash")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise UsersFileError(f"{path}: gebruiker {number} heeft een ongeldige naam {name!r}",
                             f"{path}: user {number} has an invalid name {name!r}")
    if role not in ROLES:
        raise UsersFileError(f"{path}: gebruiker {name} heeft een onbekende rol {role!r}",
                             f"{path}: user {name} has an unknown role {role!r}")
    if not isinstance(hashed, str) or not hashed.startswith("$argon2"):
        raise UsersFileError(f"{path}: gebruiker {name} heeft geen argon2-wachtwoordhash",
                             f"{path}: user {name} has no argon2 password hash")
    return User(name, role, hashed)


def local_role(path: Path, name: str) -> str | None:
    """The current role of a local user, or None when the user no longer exists."""
    user = read_users(path).get(name)
    return user.role if user else None


def verify(path: Path, name: str, password: str) -> User | None:
    """The user when name and password match, else None (same work either way, so timing tells nothing)."""
    user = read_users(path).get(name.strip().lower())
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def add_user(path: Path, name: str, role: str, password: str) -> None:
    """Add a user or replace one's role and password."""
    if not NAME.fullmatch(name):
        raise UsersFileError(f"Ongeldige gebruikersnaam '{name}': kleine letters, cijfers en . _ @ - (max. 64).",
                             f"Invalid user name '{name}': lower-case letters, digits and . _ @ - (max. 64).")
    if role not in ROLES:
        raise UsersFileError(f"Onbekende rol '{role}'; kies uit {', '.join(ROLES)}.",
                             f"Unknown role '{role}'; choose from {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsersFileError(f"Het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens hebben.",
                             f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    users = dict(read_users(path))
    users[name] = User(name, role, _hasher.hash(password))
    _write(path, users)


def remove_user(path: Path, name: str) -> bool:
    users = dict(read_users(path))
    if users.pop(name, None) is None:
        return False
    _write(path, users)
    return True


def _write(path: Path, users: dict[str, User]) -> None:
    """Write atomically, readable by the owner only (names and roles are validated; hashes hold no quotes)."""
    text = "".join(f'[[user]]\nname = "{u.name}"\nrole = "{u.role}"\npassword_hash = "{u.password_hash}"\n\n'
                   for u in sorted(users.values(), key=lambda u: u.name))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)
    _cache.pop(path, None)

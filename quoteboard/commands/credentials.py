"""The API password kept in the operating system's credential store, so the user types it once.

``quoteboard login`` saves it with :mod:`keyring` (Windows Credential Manager, macOS Keychain, the
Secret Service on Linux desktops); ``--kabu`` without a KEY and without ``$QUOTEBOARD_KABU_KEY``
reads it back; ``quoteboard logout`` deletes it. One entry per station URL (production and the
verification station have different passwords), under the service name :data:`SERVICE`. The
password goes from getpass or stdin straight to keyring, and from keyring into a :class:`Secret`:
never through a file of ours, a screen or a log.

keyring is imported only here, when a password is needed, so ``stream --demo`` never loads it.
"""

from __future__ import annotations

import sys
from typing import Final

from quoteboard.secret import Secret

__all__ = [
    "SERVICE",
    "CredentialStoreError",
    "check_store",
    "forget_password",
    "run_login",
    "run_logout",
    "save_password",
    "stored_password",
]

SERVICE: Final = "quoteboard"


class CredentialStoreError(Exception):
    """The credential store is missing or refused: the message is one line for the user."""


def check_store() -> object:
    """keyring's backend for this system; raises :class:`CredentialStoreError` when there is none
    (Linux without a Secret Service, as on a server or in CI)."""
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise CredentialStoreError(
            "no credential store on this system (keyring found no backend, e.g. no Secret Service): "
            "use $QUOTEBOARD_KABU_KEY or the prompt instead"
        )
    return backend


def save_password(url: str, password: Secret) -> None:
    """Keep ``password`` for the station at ``url``. Raises :class:`CredentialStoreError`."""
    import keyring
    from keyring.errors import KeyringError

    check_store()
    try:
        keyring.set_password(SERVICE, url, password.reveal())
    except KeyringError as exc:
        # keyring's messages name the service and user, never the password.
        raise CredentialStoreError(f"the credential store refused the password: {exc}") from None


def stored_password(url: str) -> Secret | None:
    """The password kept for ``url``; None when none is kept or there is no usable store (the
    caller then asks for one, as it would without a store)."""
    import keyring
    from keyring.errors import KeyringError

    try:
        check_store()
        value = keyring.get_password(SERVICE, url)
    except (CredentialStoreError, KeyringError):
        return None  # no store or a locked one: the prompt that follows is the way forward
    return Secret(value) if value else None


def forget_password(url: str) -> bool:
    """Delete the password kept for ``url``: True if there was one. Raises
    :class:`CredentialStoreError` when there is no usable store."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    check_store()
    try:
        keyring.delete_password(SERVICE, url)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise CredentialStoreError(f"the credential store refused: {exc}") from None
    return True


def _read_password() -> Secret:
    """The password, typed without echo at a terminal, else the first line of stdin (a script, a
    password manager's CLI piped in)."""
    if sys.stdin.isatty():
        import getpass

        try:
            return Secret(getpass.getpass("Kabu Station API password: "))
        except (EOFError, KeyboardInterrupt):
            return Secret("")
    return Secret(sys.stdin.readline().rstrip("\r\n"))


def run_login(url: str) -> int:
    """``quoteboard login``: read the password and keep it for ``url``; the exit status."""
    try:
        check_store()  # before asking: a password typed for nothing is a poor start
        password = _read_password()
        if not password:
            print("quoteboard: no API password given: nothing kept", file=sys.stderr)
            return 1
        save_password(url, password)
    except CredentialStoreError as exc:
        print(f"quoteboard: {exc}", file=sys.stderr)
        return 1
    print(f"quoteboard: the API password for {url} is kept in the credential store; --kabu uses it")
    return 0


def run_logout(url: str) -> int:
    """``quoteboard logout``: forget the password kept for ``url``; the exit status."""
    try:
        forgot = forget_password(url)
    except CredentialStoreError as exc:
        print(f"quoteboard: {exc}", file=sys.stderr)
        return 1
    print(f"quoteboard: {'forgot the' if forgot else 'no'} API password kept for {url}")
    return 0

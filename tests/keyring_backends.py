"""keyring backends for the tests: the OS credential store stood in for, in memory (in-process,
with ``keyring.set_keyring``) or in one JSON file outside everything quoteboard writes (for a
``quoteboard`` subprocess: ``PYTHON_KEYRING_BACKEND=tests.keyring_backends.FileKeyring`` and the
file's path in ``$QUOTEBOARD_TEST_KEYRING``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Secrets kept in a dict, as the credential store keeps them: by (service, user)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


class FileKeyring(MemoryKeyring):
    """A MemoryKeyring that lives in ``$QUOTEBOARD_TEST_KEYRING`` between processes."""

    @property
    def _file(self) -> Path:
        return Path(os.environ["QUOTEBOARD_TEST_KEYRING"])

    def _load(self) -> None:
        if self._file.exists():
            entries = json.loads(self._file.read_text(encoding="utf-8"))
            self.secrets = {(service, user): secret for service, user, secret in entries}

    def _save(self) -> None:
        entries = [[service, user, secret] for (service, user), secret in self.secrets.items()]
        self._file.write_text(json.dumps(entries), encoding="utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        self._load()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._load()
        super().set_password(service, username, password)
        self._save()

    def delete_password(self, service: str, username: str) -> None:
        self._load()
        super().delete_password(service, username)
        self._save()

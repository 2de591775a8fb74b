"""File storage under a per-tenant prefix; files are served only through authorising views."""
from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ForeignFile(PermissionError):
    """A key outside the current tenant's prefix was asked for."""


class FileStorage:
    def __init__(self, root: Path):
        self.root = Path(root)

    @staticmethod
    def prefix(tenant_id: int) -> str:
        return f"tenants/{int(tenant_id)}/"

    def save(self, *, tenant_id: int, category: str, filename: str, data: bytes) -> str:
        safe_name = _SAFE.sub("_", filename).replace("..", "_").lstrip("._")[-80:] or "file"
        key = f"{self.prefix(tenant_id)}{_SAFE.sub('_', category)}/{uuid.uuid4().hex}-{safe_name}"
        path = self._path(tenant_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return key

    def read(self, *, tenant_id: int, key: str) -> bytes:
        return self._path(tenant_id, key).read_bytes()

    def delete(self, *, tenant_id: int, key: str) -> None:
        """Remove a file this process has just saved and not recorded anywhere (a lost compare-and-set)."""
        self._path(tenant_id, key).unlink(missing_ok=True)

    def exists(self, *, tenant_id: int, key: str) -> bool:
        try:
            return self._path(tenant_id, key).is_file()
        except ForeignFile:
            return False

    def new_file(self, *, tenant_id: int, category: str, filename: str) -> tuple[str, Path]:
        """A key and the local path to write a large file to in pieces (an export), its folder made."""
        safe_name = _SAFE.sub("_", filename).replace("..", "_").lstrip("._")[-80:] or "file"
        key = f"{self.prefix(tenant_id)}{_SAFE.sub('_', category)}/{uuid.uuid4().hex}-{safe_name}"
        path = self._path(tenant_id, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return key, path

    def local_path(self, *, tenant_id: int, key: str) -> Path:
        """Where a stored file is, to stream it (only keys under the tenant's prefix)."""
        return self._path(tenant_id, key)

    def walk(self, *, tenant_id: int, skip: tuple[str, ...] = ()) -> Iterator[str]:
        """Every key stored under the tenant's prefix, in a stable order, except those of the `skip` categories."""
        base = self.root / self.prefix(tenant_id)
        if not base.is_dir():
            return
        skipped = {_SAFE.sub("_", category) for category in skip}
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            relative = path.relative_to(base)
            if relative.parts[0] in skipped:
                continue
            yield self.prefix(tenant_id) + relative.as_posix()

    def _path(self, tenant_id: int, key: str) -> Path:
        if not key.startswith(self.prefix(tenant_id)) or ".." in key.split("/"):
            raise ForeignFile(key)
        path = (self.root / key).resolve()
        if not str(path).startswith(str(self.root.resolve()) + "/"):
            raise ForeignFile(key)
        return path


_storage: FileStorage | None = None


def configure_storage(root: Path) -> FileStorage:
    """Set the process-wide storage (the app factory calls this; jobs then use `storage()`)."""
    global _storage
    _storage = FileStorage(root)
    return _storage


def storage() -> FileStorage:
    if _storage is None:
        raise RuntimeError("file storage is not configured: create the app first")
    return _storage

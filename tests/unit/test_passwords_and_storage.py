import pytest

from domain.identity.passwords import hash_password, password_problems, verify_password
from domain.storage import FileStorage, ForeignFile


def test_argon2id_hash_verifies_and_rejects():
    stored = hash_password("a long passphrase")

    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "a long passphrase")
    assert not verify_password(stored, "another passphrase")
    assert not verify_password("not-a-hash", "a long passphrase")


def test_password_rules():
    assert password_problems("short") == ["too_short"]
    assert password_problems("1234567890") == ["too_common"]
    assert password_problems("fine and long enough") == []


def test_files_live_under_the_tenant_prefix_and_cannot_be_read_across(tmp_path):
    storage = FileStorage(tmp_path)

    key = storage.save(tenant_id=1, category="bills", filename="../../etc/passwd", data=b"pdf")

    assert key.startswith("tenants/1/bills/") and ".." not in key
    assert storage.read(tenant_id=1, key=key) == b"pdf"
    with pytest.raises(ForeignFile):
        storage.read(tenant_id=2, key=key)
    with pytest.raises(ForeignFile):
        storage.read(tenant_id=1, key="tenants/1/../2/bills/x")
    assert not storage.exists(tenant_id=2, key=key)

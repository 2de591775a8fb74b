"""Public ids made in bulk for a chunk's bills are distinct, valid version-4 UUIDs in their usual text form."""
import uuid

from domain.billing.drafts import public_ids


def test_public_ids_are_distinct_version_4_uuids_in_canonical_text():
    ids = public_ids(5000)

    assert len(ids) == 5000 and len(set(ids)) == 5000
    for text in ids:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def test_no_public_id_is_asked_for_nothing():
    assert public_ids(0) == []

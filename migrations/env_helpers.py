"""Helpers shared by the Alembic environment and its tests."""
from __future__ import annotations

from domain.db import UTCDateTime


def render_item(type_, obj, autogen_context):
    """Render our column types as plain SQLAlchemy types so migrations do not import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# Schema objects a migration makes that the models cannot describe (SQLite FTS5 tables and their shadow tables,
# PostgreSQL GIN indexes over a tsvector or with trigram operators): comparisons with the models skip them.
UNMODELLED_PREFIXES = ("account_search_fts", "account_search_vocab", "ix_account_search_documents_tokens",
                       "ix_search_words_word_trgm")


def include_object(obj, name, type_, reflected, compare_to):
    return not (reflected and compare_to is None and (name or "").startswith(UNMODELLED_PREFIXES))

"""The search document of each customer account and the tenant's dictionary of name and town words.

Both are written only by the database (triggers of migration 0029 on every table whose columns feed them), so
every write path, the bulk import's multi-row INSERTs included, keeps them current; the app only reads them."""
from __future__ import annotations

from sqlalchemy import ForeignKeyConstraint, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import TenantScoped, tenant_ref, tenant_table_args


class AccountSearchDocument(TenantScoped):
    """What an account is found by: `facts` are "kind<TAB>value" lines (name, e-mail, phone, postcode, town,
    point of delivery, meter, bill, account) shown as what matched; `tokens` is their folded form, a tsvector on
    PostgreSQL (GIN index), plain text indexed by the FTS5 table `account_search_fts` on SQLite."""

    __tablename__ = "account_search_documents"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "account_id"),
        ForeignKeyConstraint(["tenant_id", "account_id"], ["customer_accounts.tenant_id", "customer_accounts.id"],
                             ondelete="CASCADE"),
    )

    account_id: Mapped[int] = tenant_ref()
    facts: Mapped[str] = mapped_column(Text, nullable=False)
    tokens: Mapped[str] = mapped_column(Text().with_variant(TSVECTOR(), "postgresql"), nullable=False)


class SearchWord(TenantScoped):
    """A word of the tenant's names and towns (PostgreSQL): a misspelt search word is compared with these (trigram
    index) and replaced by the close ones. Never pruned: a word no longer used only finds nothing."""

    __tablename__ = "search_words"
    __table_args__ = tenant_table_args(UniqueConstraint("tenant_id", "word"))

    word: Mapped[str] = mapped_column(String(100), nullable=False)


class SearchRefreshQueue(TenantScoped):
    """Accounts whose document waits for `services.refresh_deferred` (PostgreSQL): while a bulk writer has asked
    for `defer_documents`, the triggers queue the accounts a statement touched here instead of rebuilding their
    documents at each of its files (customers, contact points, contracts, meters all touch the same accounts)."""

    __tablename__ = "search_refresh_queue"
    __table_args__ = tenant_table_args(
        UniqueConstraint("tenant_id", "account_id"),
        ForeignKeyConstraint(["tenant_id", "account_id"], ["customer_accounts.tenant_id", "customer_accounts.id"],
                             ondelete="CASCADE"),
    )
    __audited__ = False

    account_id: Mapped[int] = tenant_ref()

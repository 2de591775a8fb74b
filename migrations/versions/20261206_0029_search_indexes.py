"""Search at a million accounts: one search document per customer account, kept current by the database

- `account_search_documents`: per account, the facts it is found by ("kind<TAB>value" lines: account number,
  holder's name, e-mails, phones, postcodes and towns, points of delivery, meter serials, bill numbers) and their
  folded tokens. Written only by triggers on every table those facts come from (customer_accounts, parties,
  contact_points, contracts, delivery_points, premises, meters, meter_installations, bills), so staff entry, the
  portal, billing and the customer base import's multi-row INSERTs all keep it current. Backfilled here.
- PostgreSQL: `pg_trgm` and `unaccent`; an IMMUTABLE `search_fold` (unaccent + lower) and `search_tokens`;
  tokens are a tsvector with a GIN index; statement-level triggers with transition tables refresh the documents
  of the accounts a statement touched in one set-based statement (`search_refresh`). `search_words` holds the
  tenant's name and town words with a trigram index: a misspelt word is matched against it.
- SQLite: an FTS5 table (`unicode61 remove_diacritics 2`, `_` kept inside tokens) over the documents, kept by
  triggers on the documents; row-level triggers on the source tables rebuild the document of the accounts
  concerned (only when a column that feeds it changed). `account_search_vocab` (fts5vocab) lists the indexed words for typo tolerance.
Row-level security on the two new tables as 0025 gave the others.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 21:00:00.000000
"""
import logging

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

NEW_TENANT_TABLES = ("account_search_documents", "search_words", "search_refresh_queue")
POLICY = "tenant_isolation"
EXPRESSION = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
log = logging.getLogger("alembic.runtime.migration")

# --- PostgreSQL -------------------------------------------------------------------------------------------------

PG_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT lower({schema}.unaccent('{schema}.unaccent'::regdictionary, value)) $$;

-- The tokens one fact is found by; identifiers also carry a '_' twin that only exact identifier searches use.
-- PL/pgSQL, folded and split once: four times faster than the same in SQL (not inlined, a query per call), and
-- this runs for every fact of every account the import writes.
CREATE OR REPLACE FUNCTION search_tokens(kind text, value text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
AS $$
DECLARE
  spaced text := regexp_replace(search_fold(value), '[^[:alnum:]]+', ' ', 'g');
  digits text;
BEGIN
  IF kind IN ('name', 'town') THEN
    RETURN array_remove(string_to_array(btrim(spaced), ' '), '');
  ELSIF kind = 'postcode' THEN
    RETURN array_remove(string_to_array(btrim(spaced), ' ') || replace(spaced, ' ', ''), '');
  ELSIF kind IN ('phone', 'account') THEN
    digits := regexp_replace(value, '[^0-9]+', '', 'g');
    IF kind = 'phone' THEN
      RETURN array_remove(array_remove(ARRAY[digits, '_' || digits, right(digits, 9), '_' || right(digits, 9)],
                                       ''), '_');
    END IF;
    RETURN array_remove(array_remove(ARRAY[replace(spaced, ' ', ''), '_' || replace(spaced, ' ', ''),
                                           ltrim(digits, '0'), '_' || ltrim(digits, '0')], ''), '_');
  END IF;
  RETURN array_remove(array_remove(ARRAY[replace(spaced, ' ', ''), '_' || replace(spaced, ' ', '')], ''), '_');
END
$$;

-- Rebuild the documents of the given accounts (pairs of tenant and account ids) in one statement; documents
-- whose facts did not change are left alone, and new name and town words join the tenant's dictionary.
CREATE OR REPLACE FUNCTION search_refresh(tenant_ids bigint[], account_ids bigint[]) RETURNS void
LANGUAGE sql
AS $$
WITH targets AS (
  SELECT DISTINCT u.t AS tenant_id, u.a AS account_id FROM unnest(tenant_ids, account_ids) AS u(t, a)
  WHERE u.a IS NOT NULL
), accounts AS (
  SELECT a.tenant_id, a.id, a.account_number, a.holder_party_id
  FROM customer_accounts a JOIN targets t ON t.tenant_id = a.tenant_id AND t.account_id = a.id
), supply AS (
  SELECT DISTINCT c.tenant_id, c.account_id, c.delivery_point_id
  FROM contracts c JOIN accounts a ON a.tenant_id = c.tenant_id AND a.id = c.account_id
), facts AS (
  SELECT a.tenant_id, a.id AS account_id, 1 AS ord, 'account' AS kind, a.account_number AS value FROM accounts a
  UNION ALL
  SELECT a.tenant_id, a.id, 2, 'name', CASE WHEN p.kind = 'organisation' THEN p.organisation_name
                                            ELSE concat_ws(' ', p.first_name, p.last_name) END
  FROM accounts a JOIN parties p ON p.tenant_id = a.tenant_id AND p.id = a.holder_party_id
  UNION ALL
  SELECT a.tenant_id, a.id, 3, cp.kind, cp.value
  FROM accounts a JOIN contact_points cp ON cp.tenant_id = a.tenant_id AND cp.party_id = a.holder_party_id
  WHERE cp.kind IN ('email', 'phone')
  UNION ALL
  SELECT a.tenant_id, a.id, 4, x.kind, x.value
  FROM accounts a JOIN contact_points cp ON cp.tenant_id = a.tenant_id AND cp.party_id = a.holder_party_id
  CROSS JOIN LATERAL (VALUES ('postcode', cp.postcode), ('town', cp.city)) AS x(kind, value)
  WHERE cp.kind = 'postal'
  UNION ALL
  SELECT s.tenant_id, s.account_id, 5, 'pod', dp.identifier
  FROM supply s JOIN delivery_points dp ON dp.tenant_id = s.tenant_id AND dp.id = s.delivery_point_id
  UNION ALL
  SELECT s.tenant_id, s.account_id, 6, x.kind, x.value
  FROM supply s JOIN delivery_points dp ON dp.tenant_id = s.tenant_id AND dp.id = s.delivery_point_id
  JOIN premises pr ON pr.tenant_id = dp.tenant_id AND pr.id = dp.premise_id
  CROSS JOIN LATERAL (VALUES ('postcode', pr.postcode), ('town', pr.city)) AS x(kind, value)
  UNION ALL
  SELECT s.tenant_id, s.account_id, 7, 'meter', m.serial_number
  FROM supply s JOIN meter_installations mi ON mi.tenant_id = s.tenant_id
                                           AND mi.delivery_point_id = s.delivery_point_id
  JOIN meters m ON m.tenant_id = mi.tenant_id AND m.id = mi.meter_id
  UNION ALL
  SELECT b.tenant_id, b.account_id, 8, 'bill', b.number
  FROM accounts a JOIN bills b ON b.tenant_id = a.tenant_id AND b.account_id = a.id
  WHERE b.number IS NOT NULL
), clean AS (
  SELECT DISTINCT tenant_id, account_id, ord, kind, btrim(value) AS value
  FROM facts WHERE value IS NOT NULL AND btrim(value) <> ''
), docs AS (
  SELECT tenant_id, account_id, string_agg(kind || E'\t' || value, E'\n' ORDER BY ord, kind, value) AS facts
  FROM clean GROUP BY tenant_id, account_id
), toks AS (
  SELECT c.tenant_id, c.account_id, array_agg(DISTINCT tok) AS tokens
  FROM clean c CROSS JOIN LATERAL unnest(search_tokens(c.kind, c.value)) AS tok
  GROUP BY c.tenant_id, c.account_id
), written AS (
  INSERT INTO account_search_documents (tenant_id, account_id, facts, tokens)
  SELECT d.tenant_id, d.account_id, d.facts, array_to_tsvector(coalesce(t.tokens, '{{}}'::text[]))
  FROM docs d LEFT JOIN toks t ON t.tenant_id = d.tenant_id AND t.account_id = d.account_id
  ON CONFLICT (tenant_id, account_id) DO UPDATE SET facts = EXCLUDED.facts, tokens = EXCLUDED.tokens
  WHERE account_search_documents.facts IS DISTINCT FROM EXCLUDED.facts
  RETURNING 1
)
INSERT INTO search_words (tenant_id, word)
SELECT DISTINCT c.tenant_id, w
FROM clean c CROSS JOIN LATERAL unnest(search_tokens('name', c.value)) AS w
WHERE c.kind IN ('name', 'town') AND length(w) BETWEEN 3 AND 100 AND w !~ '[0-9]'
ON CONFLICT (tenant_id, word) DO NOTHING
$$;
"""

# Per source table: the columns whose change matters and the (tenant_id, account_id) pairs a set of its rows
# ({rows}) touches. `events`: which statements can change a document (a new party has no account yet...).
PG_SOURCES = {
    "customer_accounts": (("account_number", "holder_party_id"),
                          "SELECT r.tenant_id, r.id FROM {rows} r", ("INSERT", "UPDATE")),
    "parties": (("kind", "first_name", "last_name", "organisation_name"),
                "SELECT a.tenant_id, a.id FROM {rows} r JOIN customer_accounts a"
                " ON a.tenant_id = r.tenant_id AND a.holder_party_id = r.id", ("UPDATE",)),
    "contact_points": (("party_id", "kind", "value", "postcode", "city"),
                       "SELECT a.tenant_id, a.id FROM {rows} r JOIN customer_accounts a"
                       " ON a.tenant_id = r.tenant_id AND a.holder_party_id = r.party_id",
                       ("INSERT", "UPDATE", "DELETE")),
    "contracts": (("account_id", "delivery_point_id"),
                  "SELECT r.tenant_id, r.account_id FROM {rows} r", ("INSERT", "UPDATE", "DELETE")),
    "delivery_points": (("identifier", "premise_id"),
                        "SELECT c.tenant_id, c.account_id FROM {rows} r JOIN contracts c"
                        " ON c.tenant_id = r.tenant_id AND c.delivery_point_id = r.id", ("UPDATE",)),
    "premises": (("postcode", "city"),
                 "SELECT c.tenant_id, c.account_id FROM {rows} r JOIN delivery_points dp"
                 " ON dp.tenant_id = r.tenant_id AND dp.premise_id = r.id JOIN contracts c"
                 " ON c.tenant_id = dp.tenant_id AND c.delivery_point_id = dp.id", ("UPDATE",)),
    "meter_installations": (("meter_id", "delivery_point_id"),
                            "SELECT c.tenant_id, c.account_id FROM {rows} r JOIN contracts c"
                            " ON c.tenant_id = r.tenant_id AND c.delivery_point_id = r.delivery_point_id",
                            ("INSERT", "UPDATE", "DELETE")),
    "meters": (("serial_number",),
               "SELECT c.tenant_id, c.account_id FROM {rows} r JOIN meter_installations mi"
               " ON mi.tenant_id = r.tenant_id AND mi.meter_id = r.id JOIN contracts c"
               " ON c.tenant_id = mi.tenant_id AND c.delivery_point_id = mi.delivery_point_id", ("UPDATE",)),
    "bills": (("account_id", "number"),
              "SELECT r.tenant_id, r.account_id FROM {rows} r WHERE r.number IS NOT NULL",
              ("INSERT", "UPDATE", "DELETE")),
}


def _pg_trigger_function(table: str) -> str:
    columns, pairs, _events = PG_SOURCES[table]
    changed = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in columns)
    new_changed = f"(SELECT n.* FROM search_new n JOIN search_old o ON o.id = n.id WHERE {changed})"
    old_changed = f"(SELECT o.* FROM search_new n JOIN search_old o ON o.id = n.id WHERE {changed})"
    return f"""
CREATE OR REPLACE FUNCTION search_on_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  tenant_ids bigint[];
  account_ids bigint[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(x.t), array_agg(x.a) INTO tenant_ids, account_ids
    FROM ({pairs.format(rows="search_new")}) AS x(t, a);
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(x.t), array_agg(x.a) INTO tenant_ids, account_ids
    FROM ({pairs.format(rows="search_old")}) AS x(t, a);
  ELSE
    SELECT array_agg(x.t), array_agg(x.a) INTO tenant_ids, account_ids
    FROM ({pairs.format(rows=new_changed)} UNION {pairs.format(rows=old_changed)}) AS x(t, a);
  END IF;
  IF account_ids IS NULL THEN
    RETURN NULL;
  END IF;
  -- A bulk writer (the customer import) asks for the documents once at its end: queue the accounts instead.
  IF current_setting('app.search_deferred', true) = 'on' THEN
    INSERT INTO search_refresh_queue (tenant_id, account_id)
    SELECT DISTINCT u.t, u.a FROM unnest(tenant_ids, account_ids) AS u(t, a) WHERE u.a IS NOT NULL
    ON CONFLICT (tenant_id, account_id) DO NOTHING;
  ELSE
    PERFORM search_refresh(tenant_ids, account_ids);
  END IF;
  RETURN NULL;
END $$;
"""


def _pg_triggers(table: str) -> list[str]:
    statements = []
    for event in PG_SOURCES[table][2]:
        referencing = {"INSERT": "NEW TABLE AS search_new", "DELETE": "OLD TABLE AS search_old",
                       "UPDATE": "OLD TABLE AS search_old NEW TABLE AS search_new"}[event]
        statements.append(f"CREATE TRIGGER search_{event.lower()} AFTER {event} ON {table} REFERENCING {referencing}"
                          f" FOR EACH STATEMENT EXECUTE FUNCTION search_on_{table}()")
    return statements


# Row-level security evaluates its policy before any condition whose function is not LEAKPROOF, so such a
# condition cannot use an index: `tokens @@ query` would read every row of the tenant. The text-search match
# and the trigram similarity only compare their arguments (no error or output depends on other rows), so they
# are declared LEAKPROOF, which only a superuser may do: a migration run by another role says so and goes on
# (search stays right, but scans); give it to the DBA: ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery)
# LEAKPROOF; ALTER FUNCTION similarity_op(text, text) LEAKPROOF;
LEAKPROOF_FUNCTIONS = ("pg_catalog.ts_match_vq(tsvector, tsquery)", "{trgm}.similarity_op(text, text)")


def _leakproof(bind, on: bool) -> None:
    if not bind.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
        if on:
            log.warning("search: not a superuser, so the search indexes cannot be used under row-level security"
                        " until a superuser runs: ALTER FUNCTION %s LEAKPROOF", "; ".join(LEAKPROOF_FUNCTIONS))
        return
    trgm = bind.execute(sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension"
                                " WHERE extname = 'pg_trgm'")).scalar_one()
    for function in LEAKPROOF_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function.format(trgm=trgm)} {'LEAKPROOF' if on else 'NOT LEAKPROOF'}")


def _tenant_ids(bind) -> list[int]:
    bind.execute(sa.text("SELECT set_config('app.platform', 'on', true)"))
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM tenants ORDER BY id"))]
    bind.execute(sa.text("SELECT set_config('app.platform', '', true)"))
    return ids


def _pg_upgrade(bind) -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema = bind.execute(sa.text("SELECT extnamespace::regnamespace::text FROM pg_extension"
                                  " WHERE extname = 'unaccent'")).scalar_one()
    op.execute(PG_FUNCTIONS.format(schema=schema))
    op.execute("CREATE INDEX ix_account_search_documents_tokens ON account_search_documents USING gin (tokens)")
    op.execute("CREATE INDEX ix_search_words_word_trgm ON search_words USING gin (word gin_trgm_ops)")
    for table in NEW_TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({EXPRESSION}) WITH CHECK ({EXPRESSION})")
    _leakproof(bind, True)
    for table in PG_SOURCES:
        op.execute(_pg_trigger_function(table))
        for statement in _pg_triggers(table):
            op.execute(statement)
    # Backfill tenant by tenant (row-level security applies to the owner too: FORCE).
    for tenant_id in _tenant_ids(bind):
        bind.execute(sa.text("SELECT set_config('app.tenant_id', :id, true)"), {"id": str(tenant_id)})
        bind.execute(sa.text("SELECT search_refresh(array_agg(tenant_id), array_agg(id)) FROM customer_accounts"
                             " WHERE tenant_id = :tenant_id"), {"tenant_id": tenant_id})
    bind.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))
    op.execute("ANALYZE account_search_documents")
    op.execute("ANALYZE search_words")


def _pg_downgrade() -> None:
    _leakproof(op.get_bind(), False)
    for table in PG_SOURCES:
        for event in PG_SOURCES[table][2]:
            op.execute(f"DROP TRIGGER IF EXISTS search_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS search_on_{table}()")
    op.execute("DROP FUNCTION IF EXISTS search_refresh(bigint[], bigint[])")
    op.execute("DROP FUNCTION IF EXISTS search_tokens(text, text)")
    op.execute("DROP FUNCTION IF EXISTS search_fold(text)")
    # The extensions stay: other databases objects may use them, and creating them needs rights the app lacks.


# --- SQLite -----------------------------------------------------------------------------------------------------

def _sqlite_facts(t: str, a: str) -> str:
    """The facts (ord, kind, value) of account `a` of tenant `t`, each branch filtered by its own index (a view
    would be read whole: SQLite does not push a correlated condition into a compound view)."""
    holder = f"(SELECT x.holder_party_id FROM customer_accounts x WHERE x.tenant_id = {t} AND x.id = {a})"
    return f"""
SELECT 1 AS ord, 'account' AS kind, x.account_number AS value FROM customer_accounts x
WHERE x.tenant_id = {t} AND x.id = {a}
UNION ALL
SELECT 2, 'name', CASE WHEN p.kind = 'organisation' THEN p.organisation_name
                       ELSE trim(coalesce(p.first_name, '') || ' ' || coalesce(p.last_name, '')) END
FROM parties p WHERE p.tenant_id = {t} AND p.id = {holder}
UNION ALL
SELECT 3, cp.kind, cp.value FROM contact_points cp
WHERE cp.tenant_id = {t} AND cp.party_id = {holder} AND cp.kind IN ('email', 'phone')
UNION ALL
SELECT 4, 'postcode', cp.postcode FROM contact_points cp
WHERE cp.tenant_id = {t} AND cp.party_id = {holder} AND cp.kind = 'postal'
UNION ALL
SELECT 4, 'town', cp.city FROM contact_points cp
WHERE cp.tenant_id = {t} AND cp.party_id = {holder} AND cp.kind = 'postal'
UNION ALL
SELECT 5, 'pod', dp.identifier FROM contracts c
JOIN delivery_points dp ON dp.tenant_id = c.tenant_id AND dp.id = c.delivery_point_id
WHERE c.tenant_id = {t} AND c.account_id = {a}
UNION ALL
SELECT 6, 'postcode', pr.postcode FROM contracts c
JOIN delivery_points dp ON dp.tenant_id = c.tenant_id AND dp.id = c.delivery_point_id
JOIN premises pr ON pr.tenant_id = dp.tenant_id AND pr.id = dp.premise_id
WHERE c.tenant_id = {t} AND c.account_id = {a}
UNION ALL
SELECT 6, 'town', pr.city FROM contracts c
JOIN delivery_points dp ON dp.tenant_id = c.tenant_id AND dp.id = c.delivery_point_id
JOIN premises pr ON pr.tenant_id = dp.tenant_id AND pr.id = dp.premise_id
WHERE c.tenant_id = {t} AND c.account_id = {a}
UNION ALL
SELECT 7, 'meter', m.serial_number FROM contracts c
JOIN meter_installations mi ON mi.tenant_id = c.tenant_id AND mi.delivery_point_id = c.delivery_point_id
JOIN meters m ON m.tenant_id = mi.tenant_id AND m.id = mi.meter_id
WHERE c.tenant_id = {t} AND c.account_id = {a}
UNION ALL
SELECT 8, 'bill', b.number FROM bills b WHERE b.tenant_id = {t} AND b.account_id = {a} AND b.number IS NOT NULL
"""


def _sqlite_compact(expr: str) -> str:
    for char in (" ", "-", ".", "/", "@", "_", "+", "(", ")", "''", ",", "#"):
        expr = f"replace({expr}, '{char}', '')"
    return f"lower({expr})"


def _sqlite_tokens() -> str:
    """The FTS5 text of one fact (`kind`, `value`, `c` its compact form): the tokenizer folds accents and splits
    words; identifiers are compacted and get a '_' twin (a token character there) that exact identifier searches
    use."""
    digits_tail = "ltrim(ltrim(c, 'abcdefghijklmnopqrstuvwxyz'), '0')"
    return ("CASE WHEN kind IN ('name', 'town') THEN value"
            " WHEN kind = 'postcode' THEN value || ' ' || c"
            " WHEN kind = 'phone' THEN c || ' _' || c || ' ' || substr(c, -9) || ' _' || substr(c, -9)"
            f" WHEN kind = 'account' THEN c || ' _' || c || ' ' || {digits_tail} || ' _' || {digits_tail}"
            " ELSE c || ' _' || c END")


def _sqlite_refresh(accounts: str) -> list[str]:
    """Statements rebuilding the documents of the accounts `a` (customer_accounts) matching `accounts`."""
    facts = (f"SELECT DISTINCT ord, kind, trim(value) AS value, {_sqlite_compact('trim(value)')} AS c"
             f" FROM ({_sqlite_facts('a.tenant_id', 'a.id')}) AS f"
             " WHERE value IS NOT NULL AND trim(value) <> '' ORDER BY ord, kind, value")
    return [
        "DELETE FROM account_search_documents WHERE (tenant_id, account_id) IN"
        f" (SELECT a.tenant_id, a.id FROM customer_accounts a WHERE {accounts});",
        "INSERT INTO account_search_documents (tenant_id, account_id, facts, tokens)"
        " SELECT a.tenant_id, a.id,"
        " coalesce((SELECT group_concat(kind || char(9) || value, char(10))"
        f" FROM ({facts}) AS fact), ''),"
        f" coalesce((SELECT group_concat({_sqlite_tokens()}, ' ') FROM ({facts}) AS fact), '')"
        f" FROM customer_accounts a WHERE {accounts};",
    ]


def _in_accounts(*values: str) -> str:
    return f"a.id IN ({', '.join(values)})"


def _through_contracts(tenant: str, delivery_point_ids: str) -> str:
    return (f"a.id IN (SELECT c.account_id FROM contracts c WHERE c.tenant_id = {tenant}"
            f" AND c.delivery_point_id IN ({delivery_point_ids}))")


# (table, event, accounts filter over `a`); UPDATE events name the columns that matter.
SQLITE_TRIGGERS = [
    ("customer_accounts", "INSERT", "a.id = NEW.id"),
    ("customer_accounts", "UPDATE OF account_number, holder_party_id", "a.id = NEW.id"),
    ("parties", "UPDATE OF kind, first_name, last_name, organisation_name",
     "a.tenant_id = NEW.tenant_id AND a.holder_party_id = NEW.id"),
    ("contact_points", "INSERT", "a.tenant_id = NEW.tenant_id AND a.holder_party_id = NEW.party_id"),
    ("contact_points", "UPDATE OF party_id, kind, value, postcode, city",
     "a.tenant_id = NEW.tenant_id AND a.holder_party_id IN (NEW.party_id, OLD.party_id)"),
    ("contact_points", "DELETE", "a.tenant_id = OLD.tenant_id AND a.holder_party_id = OLD.party_id"),
    ("contracts", "INSERT", _in_accounts("NEW.account_id")),
    ("contracts", "UPDATE OF account_id, delivery_point_id", _in_accounts("NEW.account_id", "OLD.account_id")),
    ("contracts", "DELETE", _in_accounts("OLD.account_id")),
    ("delivery_points", "UPDATE OF identifier, premise_id", _through_contracts("NEW.tenant_id", "NEW.id")),
    ("premises", "UPDATE OF postcode, city",
     _through_contracts("NEW.tenant_id", "SELECT dp.id FROM delivery_points dp WHERE dp.tenant_id = NEW.tenant_id"
                                         " AND dp.premise_id = NEW.id")),
    ("meter_installations", "INSERT", _through_contracts("NEW.tenant_id", "NEW.delivery_point_id")),
    ("meter_installations", "UPDATE OF meter_id, delivery_point_id",
     _through_contracts("NEW.tenant_id", "NEW.delivery_point_id, OLD.delivery_point_id")),
    ("meter_installations", "DELETE", _through_contracts("OLD.tenant_id", "OLD.delivery_point_id")),
    ("meters", "UPDATE OF serial_number",
     _through_contracts("NEW.tenant_id", "SELECT mi.delivery_point_id FROM meter_installations mi"
                                         " WHERE mi.tenant_id = NEW.tenant_id AND mi.meter_id = NEW.id")),
    ("bills", "INSERT", _in_accounts("NEW.account_id")),
    ("bills", "UPDATE OF number, account_id", _in_accounts("NEW.account_id", "OLD.account_id")),
    ("bills", "DELETE", _in_accounts("OLD.account_id")),
]


def _sqlite_when(table: str, event: str) -> str:
    """SQLite runs an UPDATE OF trigger whenever the column is set, changed or not: only a change counts. A bill
    counts once it has a number."""
    if event.startswith("UPDATE OF "):
        columns = [c.strip() for c in event[len("UPDATE OF "):].split(",")]
        return " WHEN " + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)
    if table == "bills":
        return f" WHEN {'NEW' if event == 'INSERT' else 'OLD'}.number IS NOT NULL"
    return ""


def _sqlite_trigger_name(table: str, event: str) -> str:
    return f"search_{table}_{event.split()[0].lower()}"


def _sqlite_upgrade() -> None:
    op.execute("CREATE VIRTUAL TABLE account_search_fts USING fts5(tokens, content='account_search_documents',"
               " content_rowid='id', tokenize=\"unicode61 remove_diacritics 2 tokenchars '_'\")")
    op.execute("CREATE VIRTUAL TABLE account_search_vocab USING fts5vocab(account_search_fts, row)")
    op.execute("CREATE TRIGGER search_documents_insert AFTER INSERT ON account_search_documents BEGIN"
               " INSERT INTO account_search_fts (rowid, tokens) VALUES (NEW.id, NEW.tokens); END")
    op.execute("CREATE TRIGGER search_documents_delete AFTER DELETE ON account_search_documents BEGIN"
               " INSERT INTO account_search_fts (account_search_fts, rowid, tokens)"
               " VALUES ('delete', OLD.id, OLD.tokens); END")
    op.execute("CREATE TRIGGER search_documents_update AFTER UPDATE ON account_search_documents BEGIN"
               " INSERT INTO account_search_fts (account_search_fts, rowid, tokens)"
               " VALUES ('delete', OLD.id, OLD.tokens);"
               " INSERT INTO account_search_fts (rowid, tokens) VALUES (NEW.id, NEW.tokens); END")
    for table, event, accounts in SQLITE_TRIGGERS:
        op.execute(f"CREATE TRIGGER {_sqlite_trigger_name(table, event)} AFTER {event} ON {table}"
                   f"{_sqlite_when(table, event)} BEGIN {' '.join(_sqlite_refresh(accounts))} END")
    for statement in _sqlite_refresh("1 = 1"):
        op.execute(statement)


def _sqlite_downgrade() -> None:
    for table, event, _accounts in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {_sqlite_trigger_name(table, event)}")
    for name in ("search_documents_insert", "search_documents_delete", "search_documents_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS account_search_vocab")
    op.execute("DROP TABLE IF EXISTS account_search_fts")


# --- both -------------------------------------------------------------------------------------------------------

def upgrade():
    op.create_table('account_search_documents',
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('tokens', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_account_search_documents_tenant_id_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_account_search_documents_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_search_documents')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f('uq_account_search_documents_tenant_id_account_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_account_search_documents_tenant_id_id'))
    )
    op.create_table('search_refresh_queue',
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['customer_accounts.tenant_id', 'customer_accounts.id'], name=op.f('fk_search_refresh_queue_tenant_id_account_id_customer_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_search_refresh_queue_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_refresh_queue')),
    sa.UniqueConstraint('tenant_id', 'account_id', name=op.f('uq_search_refresh_queue_tenant_id_account_id')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_search_refresh_queue_tenant_id_id'))
    )
    op.create_table('search_words',
    sa.Column('word', sa.String(length=100), nullable=False),
    sa.Column('id', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tenant_id', BIG_ID, nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_search_words_tenant_id_tenants'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_words')),
    sa.UniqueConstraint('tenant_id', 'id', name=op.f('uq_search_words_tenant_id_id')),
    sa.UniqueConstraint('tenant_id', 'word', name=op.f('uq_search_words_tenant_id_word'))
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _pg_upgrade(bind)
    else:
        _sqlite_upgrade()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _pg_downgrade()
        for table in NEW_TENANT_TABLES:
            op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    else:
        _sqlite_downgrade()
    op.drop_table('search_words')
    op.drop_table('search_refresh_queue')
    op.drop_table('account_search_documents')

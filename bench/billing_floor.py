"""The database floor: how long PostgreSQL itself takes to write the bills, bill lines and ledger entries of a
run, with set-based SQL computing simple amounts from the loaded data.

Targets are copies of the real tables (`CREATE TABLE floor_x (LIKE x INCLUDING ALL)`: same columns, defaults,
NOT NULL and check constraints, primary key, unique constraints, indexes including the partial unique index on
live bills) plus the same composite foreign keys as the real tables (copied from the catalogue, pointing at the
real parents, and at floor_bills where the real key points at bills). They start empty, as the real tables did.

One statement (data-modifying CTEs) computes each due contract's consumption from its two readings, prices it
with the tariff version in force (standing charge, flat, per-register and tiered prices, tax-included offers),
then inserts the bills (already issued, numbered), their lines and one ledger debit per bill; one commit
(work_mem raised for that transaction so no sort spills). Run in one session, or split by contract id range over
as many concurrent sessions as the run had workers. It is a lower bound for writing the same rows: it skips what
the application must also do (estimation, plausibility checks, updating contracts.billed_until, chunk
bookkeeping, round trips), but pays the same per-row costs: index entries, check constraints and foreign-key
triggers. The owner (superuser) bypasses row-level security; the application's role pays its WITH CHECK.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from billing_setup import owner_connect
from proc_rss import parent_pid, tree_cpu_seconds

FLOOR_TABLES = (("bills", "floor_bills"), ("bill_lines", "floor_bill_lines"),
                ("ledger_entries", "floor_ledger_entries"))

FLOOR_WORK_MEM = "256MB"

FLOOR_SQL = """
WITH due AS MATERIALIZED (
    SELECT c.id AS contract_id, c.account_id, c.offer_id, c.delivery_point_id, d.period_start, d.period_end,
           (d.period_end - d.period_start) AS days, dp.activity, dp.gas_correction_factor
    FROM bench_due d
    JOIN contracts c ON c.tenant_id = %(t)s AND c.id = d.contract_id AND d.contract_id BETWEEN %(lo)s AND %(hi)s
    JOIN delivery_points dp ON dp.tenant_id = %(t)s AND dp.id = c.delivery_point_id
), reg AS (                                   -- metered consumption per contract and register
    SELECT due.contract_id, r.code,
           (max(mr.value) FILTER (WHERE mr.read_on = due.period_end)
            - max(mr.value) FILTER (WHERE mr.read_on = due.period_start)) * m.multiplier AS qty
    FROM due
    JOIN meter_installations mi ON mi.tenant_id = %(t)s AND mi.delivery_point_id = due.delivery_point_id
    JOIN meters m ON m.tenant_id = %(t)s AND m.id = mi.meter_id
    JOIN registers r ON r.tenant_id = %(t)s AND r.meter_id = m.id
    JOIN meter_readings mr ON mr.tenant_id = %(t)s AND mr.register_id = r.id AND mr.status = 'valid'
         AND mr.read_on IN (due.period_start, due.period_end)
    GROUP BY due.contract_id, r.code, m.multiplier
), billed AS MATERIALIZED (                   -- billed quantity per register, and '*' for all registers
    WITH per_register AS (
        SELECT reg.contract_id, due.offer_id, due.activity, due.days, due.period_start, due.period_end, reg.code,
               CASE WHEN due.activity = 'gas'
                    THEN round(reg.qty * coalesce(due.gas_correction_factor, 1) * %(cv)s::numeric / 3.6, 3)
                    ELSE round(reg.qty, 3) END AS qty
        FROM reg JOIN due USING (contract_id))
    SELECT * FROM per_register
    UNION ALL
    SELECT contract_id, offer_id, activity, days, period_start, period_end, '*', sum(qty) FROM per_register
    GROUP BY contract_id, offer_id, activity, days, period_start, period_end
), tv AS MATERIALIZED (                      -- the version of each offer in force over the period
    SELECT v.* FROM tariff_versions v
    WHERE v.tenant_id = %(t)s AND v.effective_from <= %(p0)s AND (v.effective_to IS NULL OR v.effective_to > %(p0)s)
), prices AS MATERIALIZED (                  -- their unit prices, with tier numbers and line descriptions
    SELECT up.*, tv.offer_id, tv.prices_include_tax AS incl,
           up.component || coalesce('_' || lower(up.register_code), '')
               || CASE WHEN up.tier_from IS NULL AND up.tier_to IS NULL THEN ''
                       ELSE '_tier' || rank() OVER (PARTITION BY up.tariff_version_id, up.component, up.register_code
                                                    ORDER BY up.tier_from) END AS description
    FROM unit_prices up JOIN tv ON up.tenant_id = %(t)s AND up.tariff_version_id = tv.id
), priced AS (
    SELECT due.contract_id, 0::bigint AS sort, 'standing_charge'::text AS component,
           'standing_charge'::text AS description, due.period_start, due.period_end,
           due.days::numeric AS quantity, 'day'::text AS unit, tv.standing_charge_per_day AS unit_price,
           tv.standing_charge_per_day * due.days AS exact, tv.standing_charge_tax_rate AS tax_rate,
           NULL::text AS register_code, tv.prices_include_tax AS incl
    FROM due JOIN tv ON tv.offer_id = due.offer_id
    UNION ALL
    SELECT b.contract_id, p.id, p.component, p.description, b.period_start, b.period_end, q.qty,
           CASE WHEN b.activity = 'water' THEN 'm3' ELSE 'kWh' END, p.price, q.qty * p.price, p.tax_rate,
           p.register_code, p.incl
    FROM billed b
    JOIN prices p ON p.offer_id = b.offer_id AND coalesce(p.register_code, '*') = b.code
    CROSS JOIN LATERAL (SELECT round(coalesce(p.tier_from, 0) * b.days / 365, 3) AS low,
                               round(p.tier_to * b.days / 365, 3) AS high) bounds
    CROSS JOIN LATERAL (SELECT greatest(least(b.qty - bounds.low, coalesce(bounds.high - bounds.low, b.qty)), 0)
                               AS qty) q
    WHERE p.tier_from IS NULL OR p.tier_from = 0 OR b.qty > bounds.low
), lines AS MATERIALIZED (
    SELECT contract_id, sort, component, description, period_start, period_end, quantity, unit, unit_price,
           CASE WHEN incl THEN round(round(exact, 2) / (1 + tax_rate), 2) ELSE round(exact, 2) END AS amount,
           CASE WHEN incl THEN round(exact, 2) END AS amount_incl_tax, tax_rate, register_code, incl
    FROM priced
), totals AS (
    SELECT l.contract_id, sum(l.amount) AS excl,
           sum(coalesce(l.amount_incl_tax - l.amount, round(l.amount * l.tax_rate, 2))) AS tax,
           row_number() OVER (ORDER BY l.contract_id) AS rn
    FROM lines l GROUP BY l.contract_id
), b AS (
    INSERT INTO floor_bills (tenant_id, public_id, number, account_id, contract_id, kind, status, period_start,
                             period_end, issued_at, due_date, currency, total_excl_tax, total_tax, total_incl_tax,
                             billing_run_id, estimated)
    SELECT %(t)s, gen_random_uuid()::text,
           %(year)s || '-' || lpad((%(first)s + totals.rn - 1)::text, 7, '0'),
           due.account_id, due.contract_id, 'periodic', 'issued', due.period_start, due.period_end, %(now)s,
           %(due_date)s, %(currency)s, totals.excl, totals.tax, totals.excl + totals.tax, %(run_id)s, false
    FROM totals JOIN due USING (contract_id)
    RETURNING id, contract_id, account_id, number, total_incl_tax
), l AS (
    INSERT INTO floor_bill_lines (tenant_id, bill_id, position, component, description, period_start, period_end,
                                  quantity, unit, unit_price, amount, tax_rate, register_code,
                                  unit_price_includes_tax, amount_incl_tax)
    SELECT %(t)s, b.id, row_number() OVER (PARTITION BY lines.contract_id ORDER BY lines.sort), lines.component,
           lines.description, lines.period_start, lines.period_end, lines.quantity, lines.unit, lines.unit_price,
           lines.amount, lines.tax_rate, lines.register_code, lines.incl, lines.amount_incl_tax
    FROM lines JOIN b USING (contract_id)
    RETURNING 1
), e AS (
    INSERT INTO floor_ledger_entries (tenant_id, account_id, booked_on, created_at, direction, amount, currency,
                                      description, bill_id)
    SELECT %(t)s, b.account_id, %(billing_date)s, %(now)s,
           CASE WHEN b.total_incl_tax < 0 THEN 'credit' ELSE 'debit' END, abs(b.total_incl_tax), %(currency)s,
           'Bill ' || b.number, b.id
    FROM b WHERE b.total_incl_tax <> 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM b), (SELECT count(*) FROM l), (SELECT count(*) FROM e),
       (SELECT coalesce(sum(total_incl_tax), 0) FROM b)
"""


@dataclass
class FloorResult:
    seconds: float
    bills: int
    lines: int
    ledger_entries: int
    total_incl_tax: object
    cpu_seconds: float = 0.0  # PostgreSQL's CPU (backends and background processes) over the measurement


# `conn` below is an autocommit connection of the owner (psycopg 3), kept open for the whole benchmark.

def create_due_snapshot(conn, *, tenant_id: int, billing_date: date) -> int:
    """bench_due: the contracts due on the billing date and their period, by the run's own rule (monthly...),
    taken before the run (an unlogged table of the owner, dropped with the floor tables)."""
    conn.execute("DROP TABLE IF EXISTS bench_due")
    conn.execute("""
        CREATE UNLOGGED TABLE bench_due AS
        SELECT c.id AS contract_id, coalesce(c.billed_until, c.start_date) AS period_start,
               (coalesce(c.billed_until, c.start_date) + make_interval(months => CASE c.billing_frequency
                   WHEN 'monthly' THEN 1 WHEN 'bimonthly' THEN 2 WHEN 'quarterly' THEN 3
                   WHEN 'biannual' THEN 6 ELSE 12 END))::date AS period_end
        FROM contracts c
        WHERE c.tenant_id = %(t)s AND c.start_date < %(b)s
          AND (c.end_date IS NULL OR coalesce(c.billed_until, c.start_date) < c.end_date)
    """, {"t": tenant_id, "b": billing_date})
    conn.execute("DELETE FROM bench_due WHERE period_end > %s", (billing_date,))
    conn.execute("ALTER TABLE bench_due ADD PRIMARY KEY (contract_id)")
    conn.execute("REVOKE ALL ON bench_due FROM PUBLIC")
    conn.execute("ANALYZE bench_due")
    return conn.execute("SELECT count(*) FROM bench_due").fetchone()[0]


# What a run reads. Both the run and the floor start with them in shared buffers as far as they fit (the run used to
# start cold and leave them warm for the floor measured after it).
INPUT_TABLES = ("tenants", "contracts", "delivery_points", "customer_accounts", "meter_installations", "meters",
                "registers", "offers", "tariff_versions", "unit_prices", "meter_readings")


def prewarm_inputs(conn) -> None:
    """Load the input tables and their indexes into shared buffers (pg_prewarm), smallest first."""
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    conn.execute(
        "SELECT pg_prewarm(c.oid) FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid "
        "WHERE c.relname = ANY(%(t)s) OR i.indrelid::regclass::text = ANY(%(t)s) "
        "ORDER BY pg_relation_size(c.oid)", {"t": list(INPUT_TABLES)}).fetchall()


def _create_floor_tables(conn) -> None:
    for _real, copy in FLOOR_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {copy} CASCADE")
    for real, copy in FLOOR_TABLES:
        conn.execute(f"CREATE TABLE {copy} (LIKE {real} INCLUDING ALL)")
    renamed = dict(FLOOR_TABLES)
    for real, copy in FLOOR_TABLES:
        rows = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid), confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = %s::regclass", (real,)).fetchall()
        for name, definition, parent in rows:
            if parent in renamed:  # bill_lines -> bills becomes floor_bill_lines -> floor_bills
                definition = definition.replace(f"REFERENCES {parent}(", f"REFERENCES {renamed[parent]}(")
            conn.execute(f"ALTER TABLE {copy} ADD CONSTRAINT floor_{name[:50]} {definition}")


def drop_floor_tables(conn, *, due_too: bool = False) -> None:
    for _real, copy in FLOOR_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {copy} CASCADE")
    if due_too:
        conn.execute("DROP TABLE IF EXISTS bench_due")


def measure_floor(conn, *, dbname: str, tenant_id: int, billing_date: date, period_start: date, run_id: int,
                  currency: str, calorific_value, payment_terms_days: int, sessions: int = 1) -> FloorResult:
    """Create the empty target tables, then time the set-based statement and its commit, in one session or
    split by contract id range over `sessions` concurrent sessions (like the run's workers), each one
    transaction; the time is from the start until the last commit."""
    _create_floor_tables(conn)
    conn.execute("CHECKPOINT")  # start from a clean WAL/dirty-buffer state, as the run did
    prewarm_inputs(conn)
    ids = [r[0] for r in conn.execute("SELECT contract_id FROM bench_due ORDER BY contract_id").fetchall()]
    if not ids:
        return FloorResult(0.0, 0, 0, 0, 0)
    base = {"t": tenant_id, "p0": period_start, "cv": calorific_value, "year": str(billing_date.year),
            "now": datetime.now(UTC), "due_date": billing_date + timedelta(days=payment_terms_days),
            "currency": currency, "run_id": run_id, "billing_date": billing_date}
    size = -(-len(ids) // sessions)
    parts = [ids[i:i + size] for i in range(0, len(ids), size)]
    params = [{**base, "lo": part[0], "hi": part[-1], "first": 1 + n * size} for n, part in enumerate(parts)]
    connections = [conn] + [owner_connect(dbname, autocommit=True) for _ in params[1:]]
    results: list = [None] * len(params)
    barrier = threading.Barrier(len(params) + 1)

    def work(index: int) -> None:
        session = connections[index]
        barrier.wait()
        with session.transaction():
            session.execute(f"SET LOCAL work_mem = '{FLOOR_WORK_MEM}'")  # no sort or hash spills to disk
            results[index] = session.execute(FLOOR_SQL, params[index]).fetchone()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(params))]
    for thread in threads:
        thread.start()
    postmaster = parent_pid(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
    cpu_before = tree_cpu_seconds(postmaster) if postmaster else 0.0
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cpu = (tree_cpu_seconds(postmaster) - cpu_before) if postmaster else 0.0
    for extra in connections[1:]:
        extra.close()
    if any(r is None for r in results):
        raise RuntimeError("a floor session failed")
    return FloorResult(seconds, sum(r[0] for r in results), sum(r[1] for r in results),
                       sum(r[2] for r in results), sum(r[3] for r in results), cpu)

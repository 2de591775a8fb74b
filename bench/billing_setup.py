"""Benchmark plumbing shared by billing_bench.py and profile_chunk.py: a fresh PostgreSQL database, its
migrations, the app, one tenant, and a fast bulk load of accounts through COPY (as the schema owner).

Nothing here is timed as billing. The loader writes rows consistent with every NOT NULL, unique and check
constraint and with the composite foreign keys (tenant_id, x_id); it loads with
`session_replication_role = replica` (foreign-key triggers off, which needs the superuser owner) and then
checks every foreign key of the loaded tables with one anti-join each, so the data is proven consistent
without paying row-by-row trigger checks.
"""
from __future__ import annotations

import calendar
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
OWNER = os.environ.get("BENCH_PG_OWNER", "postgres")
APP_ROLE = os.environ.get("APP_DB_ROLE", "utility_app")
SECRET_KEY = "bench-secret-key-0123456789abcdef-0123456789"
# What production also requires (app/settings.py): a key sealing tenants' secrets, and the proxies in front (wrk
# on this machine plays the TLS proxy: it sends X-Forwarded-Proto: https).
PRODUCTION_EXTRAS = {"SECRETS_KEY": "YmVuY2gtb25seS1zZWNyZXRzLWtleS0zMi1ieXRlcyE=", "PROXY_HOPS": "1"}


# --- database -------------------------------------------------------------------------------------------------------

def owner_url(dbname: str) -> str:
    return f"postgresql://{OWNER}@{PG_HOST}/{dbname}"


def app_url(dbname: str) -> str:
    return f"postgresql://{APP_ROLE}@{PG_HOST}/{dbname}"


def owner_connect(dbname: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(owner_url(dbname), **kwargs)


def recreate_database(dbname: str) -> None:
    with psycopg.connect(owner_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def drop_database(dbname: str) -> None:
    with psycopg.connect(owner_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def app_environ(dbname: str, redis_url: str | None, instance_dir: str) -> dict[str, str]:
    """The settings of the app (bench process and workers): the RLS role, cheap password hashing."""
    env = {"APP_ENV": "test", "SECRET_KEY": SECRET_KEY, "DATABASE_URL": app_url(dbname), "INSTANCE_DIR": instance_dir}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def migrate(dbname: str, instance_dir: str) -> None:
    """`flask db upgrade` as the owner, the app configured with the RLS role (as in production)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL")}
    env.update(app_environ(dbname, None, instance_dir))
    env.update(FLASK_APP="wsgi:app", MIGRATION_DATABASE_URL=owner_url(dbname))
    flask = Path(sys.executable).with_name("flask")
    cmd = [str(flask)] if flask.exists() else [sys.executable, "-m", "flask"]
    out = subprocess.run([*cmd, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"flask db upgrade failed:\n{out.stdout}\n{out.stderr}")


def make_app(dbname: str, redis_url: str | None, instance_dir: str):
    from app import create_app
    from app.settings import load_settings

    return create_app(load_settings(app_environ(dbname, redis_url, instance_dir)))


def create_bench_tenant(app, *, slug: str = "bench", gas_calorific_value: str = "38.9"):
    """One tenant through the app's own onboarding service, then its billing settings."""
    from domain.db import db, utcnow
    from tenants.context import platform_scope
    from tenants.models import Tenant
    from tenants.services import create_tenant

    with app.app_context():
        tenant = create_tenant(slug=slug, name="Bench Utility", activities=["electricity", "gas", "water"],
                               default_locale="en", currency="EUR", timezone="Europe/Paris",
                               admin_email="admin@bench.example.com", admin_name="Bench Admin",
                               admin_password="bench-admin-password", now=utcnow())
        with platform_scope("bench: billing settings"):
            row = db.session.get(Tenant, tenant.id)
            row.gas_calorific_value = Decimal(gas_calorific_value)
            row.back_billing_months = None
            row.live_at = utcnow()  # its portal is open (the portal bench reads it)
            db.session.commit()
            tenant_id, currency = row.id, row.currency
        db.session.remove()
    return tenant_id, currency


# --- dates ----------------------------------------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Calendar:
    """The dates of the data set: contracts start 13 months before the billing date and are billed until the
    first day of the previous month, so exactly one monthly period is due on the billing date."""

    billing_date: date

    @property
    def period_end(self) -> date:
        return self.billing_date.replace(day=1)

    @property
    def period_start(self) -> date:  # = billed_until of every contract
        return add_months(self.period_end, -1)

    @property
    def contract_start(self) -> date:
        return add_months(self.period_end, -13)

    @property
    def reading_dates(self) -> list[date]:  # 14 monthly indexes: 13 months of consumption, up to the period's end
        return [add_months(self.contract_start, k) for k in range(14)]

    @property
    def tariff_change(self) -> date:  # version 1 -> version 2, well before the billed period
        return add_months(self.period_end, -6)


# --- offers ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PriceSpec:
    component: str
    price: str
    tax_rate: str
    register_code: str | None = None
    tier_from: str | None = None
    tier_to: str | None = None


@dataclass(frozen=True)
class OfferSpec:
    code: str
    name: str
    activity: str
    kind: str
    standing_charge: str
    standing_tax: str
    prices_include_tax: bool
    prices: tuple[PriceSpec, ...]
    registers: tuple[str, ...] = ("TOTAL",)


# A handful of offers shared by every account (lines per bill: standing charge + one per price, both water
# tiers being used by every monthly water bill of this data set).
OFFERS = (
    OfferSpec("ELEC-BASE", "Electricity base", "electricity", "regulated", "0.451200", "0.05500", False,
              (PriceSpec("energy", "0.251600", "0.20000"),)),
    OfferSpec("ELEC-HPHC", "Electricity peak/off-peak", "electricity", "regulated", "0.500000", "0.05500", False,
              (PriceSpec("energy", "0.270000", "0.20000", "PEAK"),
               PriceSpec("energy", "0.206800", "0.20000", "OFFPEAK")),
              ("PEAK", "OFFPEAK")),
    OfferSpec("ELEC-GREEN", "Green electricity (tax included)", "electricity", "market", "0.520000", "0.05500", True,
              (PriceSpec("energy", "0.301900", "0.20000"),)),
    OfferSpec("GAS-STD", "Natural gas", "gas", "regulated", "0.792000", "0.05500", False,
              (PriceSpec("energy", "0.101200", "0.20000"), PriceSpec("levy", "0.016370", "0.20000"),
               PriceSpec("network", "0.029900", "0.20000"))),
    OfferSpec("WATER-STD", "Drinking water and sewerage", "water", "regulated", "0.120000", "0.05500", False,
              (PriceSpec("water", "1.200000", "0.05500", tier_from="0", tier_to="30"),
               PriceSpec("water", "2.100000", "0.05500", tier_from="30"),
               PriceSpec("sewerage", "1.850000", "0.10000"))),
)
OFFER_INDEX = {spec.code: index for index, spec in enumerate(OFFERS)}

# Mix of accounts: (upper bound of a uniform draw, offer code). 60% electricity (4% peak/off-peak with two
# registers, 20% tax-included market offer), 25% gas, 15% water.
MIX = ((0.04, "ELEC-HPHC"), (0.40, "ELEC-BASE"), (0.60, "ELEC-GREEN"), (0.85, "GAS-STD"), (1.00, "WATER-STD"))

ACTIVITY = {"electricity": ("kWh", 6), "gas": ("m3", 5), "water": ("m3", 5)}  # unit, digits
ANNUAL = {"electricity": (2000, 9000), "gas": (500, 2000), "water": (40, 200)}  # meter unit per year
PROFILE = {  # relative daily consumption per month, January first
    "gas": (1.8, 1.6, 1.3, 0.9, 0.6, 0.4, 0.35, 0.35, 0.5, 0.9, 1.3, 1.7),
    "electricity": (1.2, 1.15, 1.05, 0.95, 0.9, 0.85, 0.85, 0.85, 0.9, 1.0, 1.1, 1.2),
    "water": (1.0,) * 12,
}
FIRST_NAMES = ("Alice", "Bruno", "Chloé", "David", "Emma", "Farid", "Gaëlle", "Hugo", "Inès", "Jules", "Katia", "Léo")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau")
CITIES = (("75011", "Paris"), ("69003", "Lyon"), ("13001", "Marseille"), ("31000", "Toulouse"), ("44000", "Nantes"))


# --- loading --------------------------------------------------------------------------------------------------------

LOADED_TABLES = ("offers", "tariff_versions", "unit_prices", "parties", "customer_accounts", "premises",
                 "delivery_points", "meters", "registers", "meter_installations", "contracts", "party_roles",
                 "meter_readings")


@dataclass
class LoadResult:
    accounts: int
    contracts: int
    registers: int
    readings: int
    by_offer: dict[str, int]
    seconds: float
    check_seconds: float


def _d(day: date) -> str:
    return day.isoformat()


def _milli(value: int) -> str:
    return f"{value // 1000}.{value % 1000:03d}"


class _Copier:
    """Buffered COPY ... FROM STDIN in text format: rows are joined by hand (no escaping needed here)."""

    def __init__(self, cur, table: str, columns: tuple[str, ...]):
        self.columns = columns
        self._context = cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN")
        self._copy = None
        self._buf: list[str] = []
        self.rows = 0

    def __enter__(self):
        self._copy = self._context.__enter__()
        return self

    def add(self, line: str) -> None:
        self._buf.append(line)
        if len(self._buf) >= 20000:
            self._flush()

    def _flush(self) -> None:
        if self._buf:
            self.rows += len(self._buf)
            self._copy.write("".join(self._buf))
            self._buf = []

    def __exit__(self, *exc):
        if exc[0] is None:
            self._flush()
        return self._context.__exit__(*exc)


def _check_not_null_columns(cur, table: str, columns: tuple[str, ...]) -> None:
    """Fail loudly if the schema gained a NOT NULL column without default that the loader does not fill."""
    cur.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL", (table,))
    missing = sorted(r[0] for r in cur.fetchall() if r[0] not in columns)
    if missing:
        raise SystemExit(f"bench loader: {table} has NOT NULL columns the loader does not fill: {missing}")


def load_accounts(dbname: str, *, tenant_id: int, accounts: int, cal: Calendar, seed: int = 42,
                  log=print) -> LoadResult:
    """Bulk-load `accounts` accounts, each with one contract on its own point of delivery and meter."""
    started = time.perf_counter()
    rng = random.Random(seed)
    t = tenant_id
    start, billed_until = cal.contract_start, cal.period_start
    reading_dates = cal.reading_dates
    now_ts = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S+00")

    # Per-account draws kept compact (a few small lists) so that every table can be written in its own pass.
    offer_of = bytearray(accounts)
    annual_milli = [0] * accounts  # meter unit x 1000 per year
    smart = bytearray(accounts)
    for i in range(accounts):
        draw = rng.random()
        offer_of[i] = next(OFFER_INDEX[code] for bound, code in MIX if draw < bound)
        low, high = ANNUAL[OFFERS[offer_of[i]].activity]
        annual_milli[i] = rng.randint(low * 1000, high * 1000)
        smart[i] = rng.random() < 0.7

    with owner_connect(dbname) as conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # FK triggers off; checked set-based below
        for table in LOADED_TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")
            if cur.fetchone()[0]:
                raise SystemExit(f"bench loader: {table} is not empty; the loader needs a fresh database")

        def copier(table, columns):
            _check_not_null_columns(cur, table, columns)
            return _Copier(cur, table, columns)

        # Offers: two tariff versions each (the change is 6 months before the billed period).
        version_ids: dict[int, tuple[int, int]] = {}
        with copier("offers", ("id", "tenant_id", "code", "name", "activity", "kind", "is_active")) as cp:
            for index, spec in enumerate(OFFERS, start=1):
                cp.add(f"{index}\t{t}\t{spec.code}\t{spec.name}\t{spec.activity}\t{spec.kind}\tt\n")
        with copier("tariff_versions", ("id", "tenant_id", "offer_id", "effective_from", "effective_to",
                                        "standing_charge_per_day", "standing_charge_tax_rate",
                                        "prices_include_tax")) as cp:
            for index, spec in enumerate(OFFERS, start=1):
                old, new = 2 * index - 1, 2 * index
                version_ids[index] = (old, new)
                older = (Decimal(spec.standing_charge) * Decimal("0.95")).quantize(Decimal("0.000001"))
                incl = "t" if spec.prices_include_tax else "f"
                cp.add(f"{old}\t{t}\t{index}\t{_d(add_months(start, -12))}\t{_d(cal.tariff_change)}\t{older}\t"
                       f"{spec.standing_tax}\t{incl}\n")
                cp.add(f"{new}\t{t}\t{index}\t{_d(cal.tariff_change)}\t\\N\t{spec.standing_charge}\t"
                       f"{spec.standing_tax}\t{incl}\n")
        with copier("unit_prices", ("id", "tenant_id", "tariff_version_id", "component", "register_code",
                                    "tier_from", "tier_to", "price", "tax_rate")) as cp:
            price_id = 0
            for index, spec in enumerate(OFFERS, start=1):
                for version, factor in zip(version_ids[index], (Decimal("0.95"), Decimal(1)), strict=True):
                    for p in spec.prices:
                        price_id += 1
                        price = (Decimal(p.price) * factor).quantize(Decimal("0.000001"))
                        nul = "\\N"
                        cp.add(f"{price_id}\t{t}\t{version}\t{p.component}\t{p.register_code or nul}\t"
                               f"{p.tier_from or nul}\t{p.tier_to or nul}\t{price}\t{p.tax_rate}\n")

        with copier("parties", ("id", "tenant_id", "party_number", "kind", "first_name", "last_name",
                                "created_at")) as cp:
            for i in range(1, accounts + 1):
                cp.add(f"{i}\t{t}\tP{i:09d}\tperson\t{FIRST_NAMES[i % 12]}\t{LAST_NAMES[(i // 12) % 10]}\t"
                       f"{now_ts}\n")
        with copier("customer_accounts", ("id", "tenant_id", "account_number", "holder_party_id", "status",
                                          "billing_cycle", "payment_method", "paperless", "opened_on",
                                          "created_at")) as cp:
            opened = _d(start)
            for i in range(1, accounts + 1):
                method = "direct_debit" if i % 3 else "transfer"
                cp.add(f"{i}\t{t}\tA{i:09d}\t{i}\tactive\tA\t{method}\t{'t' if i % 2 else 'f'}\t{opened}\t"
                       f"{now_ts}\n")
        with copier("premises", ("id", "tenant_id", "public_id", "address_line1", "postcode", "city",
                                 "country")) as cp:
            for i in range(1, accounts + 1):
                postcode, city = CITIES[i % len(CITIES)]
                cp.add(f"{i}\t{t}\t{_uuid(rng)}\t{1 + i % 200} rue de la Paix\t{postcode}\t{city}\tFR\n")
        with copier("delivery_points", ("id", "tenant_id", "premise_id", "activity", "identifier", "status",
                                        "subscribed_power", "gas_correction_factor")) as cp:
            for i in range(1, accounts + 1):
                spec = OFFERS[offer_of[i - 1]]
                power = ("6", "9", "12")[i % 3] if spec.activity == "electricity" else "\\N"
                correction = "1.02264" if spec.activity == "gas" else "\\N"
                cp.add(f"{i}\t{t}\t{i}\t{spec.activity}\tDP{i:012d}\tactive\t{power}\t{correction}\n")
        with copier("meters", ("id", "tenant_id", "serial_number", "activity", "digits", "multiplier", "unit",
                               "is_smart")) as cp:
            for i in range(1, accounts + 1):
                spec = OFFERS[offer_of[i - 1]]
                unit, digits = ACTIVITY[spec.activity]
                cp.add(f"{i}\t{t}\tM{i:010d}\t{spec.activity}\t{digits}\t1\t{unit}\t{'t' if smart[i - 1] else 'f'}\n")
        # Registers: their ids are sequential in account order.
        first_register = [0] * accounts
        register_count = 0
        with copier("registers", ("id", "tenant_id", "meter_id", "code", "label")) as cp:
            for i in range(1, accounts + 1):
                first_register[i - 1] = register_count + 1
                for code in OFFERS[offer_of[i - 1]].registers:
                    register_count += 1
                    cp.add(f"{register_count}\t{t}\t{i}\t{code}\t{code.title()}\n")
        with copier("meter_installations", ("id", "tenant_id", "meter_id", "delivery_point_id", "installed_on")) as cp:
            installed = _d(start)
            for i in range(1, accounts + 1):
                cp.add(f"{i}\t{t}\t{i}\t{i}\t{installed}\n")
        by_offer = {spec.code: 0 for spec in OFFERS}
        with copier("contracts", ("id", "tenant_id", "contract_number", "account_id", "delivery_point_id",
                                  "offer_id", "start_date", "status", "billing_frequency",
                                  "estimated_annual_consumption", "billed_until")) as cp:
            begin, until = _d(start), _d(billed_until)
            for i in range(1, accounts + 1):
                index = offer_of[i - 1]
                by_offer[OFFERS[index].code] += 1
                cp.add(f"{i}\t{t}\tC{i:010d}\t{i}\t{i}\t{index + 1}\t{begin}\tactive\tmonthly\t"
                       f"{_milli(annual_milli[i - 1])}\t{until}\n")
        with copier("party_roles", ("id", "tenant_id", "party_id", "role", "account_id", "start_date")) as cp:
            begin = _d(start)
            for i in range(1, accounts + 1):
                cp.add(f"{i}\t{t}\t{i}\tholder\t{i}\t{begin}\n")

        # Readings: 14 monthly indexes per register (13 months), monotonic, seasonal, +-10% noise.
        weights = {}
        for activity, profile in PROFILE.items():
            days = [(b - a).days for a, b in zip(reading_dates, reading_dates[1:], strict=False)]
            months = [a.month for a in reading_dates[:-1]]
            raw = [profile[m - 1] * d for m, d in zip(months, days, strict=True)]
            year_total = sum(profile[m - 1] * calendar.monthrange(2001, m)[1] for m in range(1, 13))
            weights[activity] = [w / year_total for w in raw]
        dates = [_d(d) for d in reading_dates]
        received = [(d + timedelta(days=1)).strftime("%Y-%m-%d 06:00:00+00") for d in reading_dates]
        reading_id = 0
        with copier("meter_readings", ("id", "tenant_id", "register_id", "read_on", "value", "source", "status",
                                       "received_at", "rollover_confirmed")) as cp:
            for i in range(accounts):
                spec = OFFERS[offer_of[i]]
                _, digits = ACTIVITY[spec.activity]
                source = "smart_meter" if smart[i] else "customer"
                month_weights = weights[spec.activity]
                shares = (0.4, 0.6) if len(spec.registers) == 2 else (1.0,)
                for r, share in enumerate(shares):
                    register_id = first_register[i] + r
                    value = ((i * 7919 + r * 104729) % (10 ** (digits - 1) * 4)) * 1000  # well below rollover
                    yearly = annual_milli[i] * share
                    line_head = f"\t{t}\t{register_id}\t"
                    for k in range(14):
                        if k:
                            noise = 0.9 + ((i * 31 + k * 17 + r * 7) % 21) / 100
                            value += int(yearly * month_weights[k - 1] * noise)
                        reading_id += 1
                        cp.add(f"{reading_id}{line_head}{dates[k]}\t{_milli(value)}\t{source}\tvalid\t{received[k]}\tf\n")
        for table in LOADED_TABLES:
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"greatest((SELECT max(id) FROM {table}), 1))")
        cur.execute("SET session_replication_role = origin")
        conn.commit()

    loaded = time.perf_counter()
    check_foreign_keys(dbname, LOADED_TABLES)
    with owner_connect(dbname, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {', '.join(LOADED_TABLES)}")
    done = time.perf_counter()
    return LoadResult(accounts=accounts, contracts=accounts, registers=register_count, readings=reading_id,
                      by_offer=by_offer, seconds=done - started, check_seconds=done - loaded)


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def check_foreign_keys(dbname: str, tables) -> None:
    """Every foreign key of the loaded tables, checked with one anti-join each (the load ran without triggers)."""
    with owner_connect(dbname) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT con.conname, con.conrelid::regclass::text, con.confrelid::regclass::text, "
            "  array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) "
            "        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o), "
            "  array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o) "
            "        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) "
            "FROM pg_constraint con WHERE con.contype = 'f' AND con.conrelid::regclass::text = ANY(%s)",
            (list(tables),))
        broken = []
        for name, child, parent, cols, pcols in cur.fetchall():
            not_null = " AND ".join(f"c.{col} IS NOT NULL" for col in cols)
            match = " AND ".join(f"p.{pc} = c.{col}" for col, pc in zip(cols, pcols, strict=True))
            cur.execute(f"SELECT count(*) FROM {child} c WHERE {not_null} "
                        f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match})")
            missing = cur.fetchone()[0]
            if missing:
                broken.append(f"{name}: {missing} rows")
        if broken:
            raise SystemExit("bench loader: foreign keys broken: " + "; ".join(broken))

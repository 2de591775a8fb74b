"""Application factory: one Flask app serves the portal, the back office and the platform console."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, g, render_template, request
from flask.globals import request_ctx
from markupsafe import escape
from werkzeug.middleware.proxy_fix import ProxyFix

from app.settings import Settings, load_settings


def create_app(settings: Settings | None = None, **overrides) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__, static_folder="../static", template_folder="../templates",
                instance_path=str(settings.instance_dir))
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    app.config.update(
        SETTINGS=settings,
        ENV_NAME=settings.env,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url, settings.database_pre_ping),
        MIGRATION_DATABASE_URL=settings.migration_database_url,
        REDIS_URL=settings.redis_url,
        PLATFORM_DOMAIN=settings.platform_domain,
        MAIL_URL=settings.mail_url,
        CAMPAIGN_BATCH_SIZE=settings.campaign_batch_size,
        OUTBOX_DIR=settings.outbox_dir,
        FILES_DIR=settings.files_dir,
        HTTPS=settings.https,
        SESSION_HOURS=settings.session_hours,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        SESSION_COOKIE_HTTPONLY=True,
        # The server-side session row has a fixed expiry, so re-signing the cookie on every response buys nothing.
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        SESSION_COOKIE_DOMAIN=None,  # host-only: a tenant's cookie never reaches another host
        SESSION_COOKIE_NAME="__Host-session" if settings.https else "session",
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=settings.https,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX="rl",
        RATE_LIMIT_LOGIN=settings.rate_limit_login,
        RATE_LIMIT_LOGIN_ACCOUNT=settings.rate_limit_login_account,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES="../translations",
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    app.config.update(overrides)
    if settings.proxy_hops:
        # Only what the configured proxies appended is believed; with no proxy (0) a client's X-Forwarded-* headers
        # change nothing: not its address (per-IP sign-in limits), not its scheme, not its host (its tenant).
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,
                                x_host=hops if settings.proxy_forwards_host else 0)
    from tenants.secrets import configure_secrets
    configure_secrets(settings.secrets_keys)
    if settings.env == "test":
        from domain.identity.passwords import configure_for_tests
        configure_for_tests()

    _init_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _init_request_transaction(app)
    _register_errors(app)
    _register_commands(app)
    return app


def _engine_options(url: str, pre_ping: bool = False) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    # No ping before each checkout: it is a round trip on every request. A connection the server dropped fails
    # its request once, and SQLAlchemy then discards the whole pool; connections are renewed every 30 minutes.
    # DATABASE_PRE_PING=1 turns the ping back on (e.g. behind a proxy that drops idle connections).
    return {"pool_pre_ping": pre_ping, "pool_recycle": 1800, "pool_size": 5, "max_overflow": 10}


def _init_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _init_extensions(app: Flask) -> None:
    import domain.models  # noqa: F401  (every mapper known before the first query)
    from app.auth import Principal  # noqa: F401  (registers the user loader)
    from app.extensions import babel, csrf, limiter, login_manager, migrate
    from app.i18n import init_i18n, select_locale, select_timezone
    from app.security import init_input_guard, init_security
    from app.tenancy import init_tenancy
    from domain.audit.recorder import install_audit_recorder
    from domain.db import TenantSession, db, install_sqlite_pragmas
    from tenants.guard import install_tenant_guard

    db.init_app(app)
    install_tenant_guard(TenantSession)
    install_audit_recorder(TenantSession)
    install_sqlite_pragmas()
    init_tenancy(app)  # first: CSRF, rate limits and sign-in all need the tenant
    init_input_guard(app)  # then input no view may see (NUL bytes): a 400 on the tenant's own error page
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # the server-side session row is the protection
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    limiter.init_app(app)
    init_security(app)
    init_i18n(app)

    from app.jobs import enqueue_now
    from domain.jobs import set_dispatcher
    set_dispatcher(enqueue_now)
    from app.messages import render_for_domain, transport_of_tenant
    from domain.communications.pipeline import set_renderer
    from domain.communications.sending import set_transport_provider
    set_transport_provider(transport_of_tenant)
    set_renderer(render_for_domain)

    from domain.storage import configure_storage
    app.extensions["file_storage"] = configure_storage(app.config["FILES_DIR"])

    @app.context_processor
    def _tenant_context():
        from flask_login import current_user

        staff_permissions = frozenset()
        if current_user and current_user.is_authenticated and current_user.kind == "staff":
            staff_permissions = current_user.permissions
        return {"tenant": g.get("tenant"), "platform_domain": app.config["PLATFORM_DOMAIN"],
                "staff_permissions": staff_permissions}


def _register_blueprints(app: Flask) -> None:
    from backoffice.billing_views import bp as billing_bp
    from backoffice.collection_views import bp as collections_bp
    import backoffice.dunning_views  # noqa: F401  (dunning, arrangements, disputes: collections and admin blueprints)
    import backoffice.request_views  # noqa: F401  (complaints and requests on the back-office blueprint)
    import backoffice.task_views  # noqa: F401  (work queues and tasks, on the back-office blueprint)
    import backoffice.case_views  # noqa: F401  (request categories, escalation, reply templates, service levels)
    import backoffice.reading_views  # noqa: F401  (readings to check, on the back-office blueprint)
    import backoffice.budget_views  # noqa: F401  (budget billing from the customer file)
    import backoffice.activation_views  # noqa: F401  (a new activation code from the customer file)
    import backoffice.contract_views  # noqa: F401  (readings prevented by the customer, from the customer file)
    import backoffice.calorific_views  # noqa: F401  (gas calorific values, on the billing blueprint)
    import backoffice.customer_edit_views  # noqa: F401  (staff data entry: customers, readings, meter exchanges)
    import backoffice.customer_file_views  # noqa: F401  (payments, readings and contact log of the customer file)
    import backoffice.simulation_views  # noqa: F401  (a billing run's bills and drafts, on the billing blueprint)
    from backoffice.views import bp as backoffice_bp
    from backoffice.admin_views import bp as admin_bp
    import backoffice.go_live_views  # noqa: F401  (the go-live switch, on the admin blueprint)
    import backoffice.staff_views  # noqa: F401  (staff administration, on the admin blueprint)
    import backoffice.invitation_views  # noqa: F401  (an invited staff member joins, on the back-office blueprint)
    import backoffice.admin_settings_views  # noqa: F401  (billing, payment and mail settings, on the admin blueprint)
    import backoffice.tariff_views  # noqa: F401  (offers and tariffs, on the admin blueprint)
    import backoffice.identity_views  # noqa: F401  (identity, logo, colours and portal pages, on the admin blueprint)
    import backoffice.import_views  # noqa: F401  (customer base import, on the administration blueprint)
    import backoffice.api_key_views  # noqa: F401  (the integration API's keys and call log, on the admin blueprint)
    from backoffice.campaign_views import bp as campaigns_bp
    from backoffice.money_views import bp as money_bp  # payments received, refunds, write-offs, bank statements
    from portal.routes import bp as portal_bp
    from tenants.branding import bp as branding_bp
    from tenants.console import bp as console_bp
    import tenants.console_wizard  # noqa: F401  (the wizard creating a utility, on the console blueprint)
    from app.health import bp as health_bp

    app.register_blueprint(portal_bp)
    app.register_blueprint(backoffice_bp, url_prefix="/backoffice")
    app.register_blueprint(billing_bp, url_prefix="/backoffice/billing")
    app.register_blueprint(collections_bp, url_prefix="/backoffice/collections")
    app.register_blueprint(campaigns_bp, url_prefix="/backoffice/campaigns")
    app.register_blueprint(money_bp, url_prefix="/backoffice/money")
    app.register_blueprint(admin_bp, url_prefix="/backoffice/admin")
    app.register_blueprint(console_bp, url_prefix="/console")
    app.register_blueprint(branding_bp)
    app.register_blueprint(health_bp)
    from api.setup import init_api
    init_api(app)  # before the request transaction: its call log runs after the request's commit


def _init_request_transaction(app: Flask) -> None:
    """A request is one transaction: commit on success, roll back otherwise; then mail and jobs."""
    from app.jobs import flush_pending_jobs
    from app.messages import flush_committed_mail
    from domain.db import db

    @app.after_request
    def _commit(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def _finish(exc):
        if exc is not None:
            db.session.rollback()
            g.pop("pending_jobs", None)
            return
        flush_committed_mail()
        flush_pending_jobs()


def _register_errors(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    def _layout() -> str:
        """The layout of the area the request is in: a signed-in staff member keeps the back office's navigation on a
        403 or a 404 there, a customer the portal's (each layout shows its navigation only to its own users)."""
        if request.path.startswith("/console"):
            return "console/layout.html"
        if g.get("tenant") is None:
            return "base.html"
        if request.path == "/backoffice" or request.path.startswith("/backoffice/"):
            return "backoffice/layout.html"
        return "portal/layout.html"

    def _page(code: int, title: str, message: str):
        from api.setup import http_error_answer, is_api_request
        if is_api_request():
            return http_error_answer(code)
        # A request whose host werkzeug cannot even bind (e.g. `aquaville..localhost`) has no URL adapter, and the
        # page's links would fail to build: bind one to the platform's domain, links are relative anyway.
        request_context = request_ctx._get_current_object()
        if request_context.url_adapter is None:
            request_context.url_adapter = app.url_map.bind(app.config["PLATFORM_DOMAIN"], url_scheme=request.scheme)
        context = {"code": code, "title": title, "message": message}
        try:
            return render_template("errors/error.html", layout=_layout(), **context), code
        except Exception:  # the area's layout needs what may have failed (the database): the plain layout still tells
            logging.getLogger("app").exception("error page %s in its area's layout could not be rendered", code)
        try:
            return render_template("errors/error.html", layout="base.html", **context), code
        except Exception:  # an error page must never become a bare 500: the plain page below cannot fail
            logging.getLogger("app").exception("error page %s could not be rendered", code)
            return _plain_page(code, title, message), code

    from flask_babel import gettext as _

    @app.errorhandler(400)
    def _bad_request(e):
        return _page(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return _page(400, _("Form expired"), _("The form has expired or was not sent from this site. "
                                              "Please go back, reload the page and try again."))

    @app.errorhandler(401)
    def _unauthorised(e):
        return _page(401, _("Please sign in"), _("You need to sign in to do this."))

    @app.errorhandler(403)
    def _forbidden(e):
        return _page(403, _("Not allowed"), _("Your role does not give access to this page."))

    @app.errorhandler(404)
    def _not_found(e):
        return _page(404, _("Page not found"), _("There is nothing here. Check the address or go back."))

    @app.errorhandler(405)
    def _method(e):
        return _page(405, _("Not allowed"), _("This page cannot be used this way."))

    @app.errorhandler(413)
    def _too_large(e):
        return _page(413, _("File too large"), _("The file you sent is too large."))

    @app.errorhandler(429)
    def _too_many(e):
        return _page(429, _("Too many attempts"), _("Too many attempts. Please wait a minute and try again."))

    @app.errorhandler(500)
    def _server_error(e):
        return _page(500, _("Something went wrong"), _("An error occurred on our side. Nothing was saved. "
                                                      "Please try again later."))


def _plain_page(code: int, title: str, message: str) -> str:
    title, message = escape(str(title)), escape(str(message))
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
            f"<body><main><h1>{title}</h1><p>{message}</p><p>{code}</p></main></body></html>")


def _register_commands(app: Flask) -> None:
    from backoffice.billing_cli import billing_cli
    from demo.cli import demo_cli
    from tenants.cli import tenants_cli
    from app.schedule import jobs_cli

    app.cli.add_command(tenants_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(billing_cli)
    app.cli.add_command(jobs_cli)

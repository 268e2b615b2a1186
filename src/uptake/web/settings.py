"""Django settings, all from the environment (twelve-factor):

    UPTAKE_HOME            the warehouse home; the portal reads <home>/published/scorecard.duckdb
    UPTAKE_PUBLISHED       a published scorecard file elsewhere (overrides UPTAKE_HOME's)
    UPTAKE_DATABASE_URL    the portal's own database: postgres://user:pass@host:port/name, or
                           sqlite:///path (default: <home>/portal.sqlite3)
    UPTAKE_SECRET_KEY      required when UPTAKE_DEBUG is off and the host is not local
    UPTAKE_DEBUG           1 for development
    UPTAKE_ALLOWED_HOSTS   comma-separated (default: localhost, 127.0.0.1)
    UPTAKE_STATIC_ROOT     where `collectstatic` puts files for production serving
    UPTAKE_UPLOADS         where case-study attachments are kept (default: <home>/uploads; never
                           under the web root: they are served only through a checking view)
    UPTAKE_SMTP_HOST, UPTAKE_SMTP_PORT, UPTAKE_SMTP_USER, UPTAKE_SMTP_PASSWORD, UPTAKE_SMTP_TLS
                           the mail server for confirmations, password resets and alerts; without
                           a host, messages are written as files to <home>/outbox instead
    UPTAKE_MAIL_FROM       the sender of those messages
    UPTAKE_LOGIN_LIMIT     wrong passwords before sign-in is paused for 15 minutes (default 5)
    UPTAKE_TRUSTED_PROXIES addresses of reverse proxies whose X-Forwarded-For is believed
                           (default 127.0.0.1,::1): the sign-in throttle's client address
    UPTAKE_WAREHOUSE       the warehouse directory /healthz checks (default: <home>/warehouse, checked
                           only when it exists; when set, it must exist)
    UPTAKE_LOG_FORMAT      text (default) or json: one JSON object per line (web/logging.py)
    UPTAKE_LOG_LEVEL       WARNING by default; INFO adds one line per request
    UPTAKE_HTTPS           1 behind a reverse proxy that terminates HTTPS and sets X-Forwarded-Proto:
                           secure cookies, HSTS, requests taken as https
    UPTAKE_CSRF_TRUSTED_ORIGINS  comma-separated origins (https://host) allowed to post forms
Every variable, with its default, is in docs/operations.md.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from ..config import home_dir, site_url, warehouse_dir
from .logging import logging_config

WEB = Path(__file__).resolve().parent
FRONTEND = WEB / "frontend" / "node_modules"
HOME = home_dir()

DEBUG = os.environ.get("UPTAKE_DEBUG", "") == "1"
SECRET_KEY = os.environ.get("UPTAKE_SECRET_KEY") or "uptake-local-only-not-secret"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("UPTAKE_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")
                 if h.strip()]
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "testserver"}
if not os.environ.get("UPTAKE_SECRET_KEY") and not DEBUG and set(ALLOWED_HOSTS) - _LOCAL_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("UPTAKE_SECRET_KEY is not set: a portal serving "
                               f"{', '.join(sorted(set(ALLOWED_HOSTS) - _LOCAL_HOSTS))} needs a secret key of its own "
                               "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')")
PUBLISHED = Path(os.environ.get("UPTAKE_PUBLISHED") or HOME / "published" / "scorecard.duckdb")
GEO_DIR = PUBLISHED.parent / "geo"
WAREHOUSE = warehouse_dir()  # what /healthz checks (web/health.py); the pages read only PUBLISHED


def _database(url: str | None) -> dict:
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(HOME / "portal.sqlite3")}
    u = urlparse(url)
    if u.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(u.path) or ":memory:"}
    if u.scheme in ("postgres", "postgresql"):
        # ?sslmode=require&connect_timeout=10 ...: libpq connection parameters, passed on
        return {"ENGINE": "django.db.backends.postgresql", "NAME": unquote(u.path.lstrip("/")),
                "USER": unquote(u.username or ""), "PASSWORD": unquote(u.password or ""),
                "HOST": u.hostname or "", "PORT": str(u.port or ""), "CONN_MAX_AGE": 60,
                "CONN_HEALTH_CHECKS": True, "OPTIONS": dict(parse_qsl(u.query))}
    raise ValueError(f"UPTAKE_DATABASE_URL {url!r}: expected postgres://… or sqlite:///…")


DATABASES = {"default": _database(os.environ.get("UPTAKE_DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "uptake.web.apps.PortalConfig",
    "uptake.web.accounts.apps.AccountsConfig",
    "uptake.web.compliance.apps.ComplianceConfig",
    "uptake.web.opportunities.apps.OpportunitiesConfig",
    "uptake.web.knowledge.apps.KnowledgeConfig",
    "uptake.web.alerts.apps.AlertsConfig",
    "uptake.web.public.apps.PublicConfig",
    "uptake.web.impact.apps.ImpactConfig",
    "axes",
    "ninja",  # the API docs' Swagger UI from its static files, not a CDN (web/api.py)
]
# Argon2 for new and changed passwords; older hashes are still read, and upgraded at sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one account from one
# address, sign-in is refused for AXES_COOLOFF_TIME; a right password resets the count.
AXES_FAILURE_LIMIT = int(os.environ.get("UPTAKE_LOGIN_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The address that counts is the one the reverse proxy saw (X-Forwarded-For's right-most entry, from
# a proxy in UPTAKE_TRUSTED_PROXIES), not nginx's own 127.0.0.1 (accounts/client.py).
AXES_CLIENT_IP_CALLABLE = "uptake.web.accounts.client.client_address"
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

UPLOAD_ROOT = Path(os.environ.get("UPTAKE_UPLOADS") or HOME / "uploads")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 11 * 1024 * 1024

if os.environ.get("UPTAKE_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["UPTAKE_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("UPTAKE_SMTP_PORT") or 25)
    EMAIL_HOST_USER = os.environ.get("UPTAKE_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("UPTAKE_SMTP_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("UPTAKE_SMTP_TLS", "") == "1"
    EMAIL_TIMEOUT = 30
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(HOME / "outbox")
DEFAULT_FROM_EMAIL = os.environ.get("UPTAKE_MAIL_FROM") or "uptake <uptake@localhost>"
ALERT_PERCENTILE_DROP = float(os.environ.get("UPTAKE_ALERT_PERCENTILE_DROP") or 10)  # docs/alerts.md
SITE_URL = site_url()  # links in e-mails
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "uptake.web.accounts.passwords.PatternValidator"},  # no 'aaaaaaaaaaaa', no 'qwertyuiopas'
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
MIDDLEWARE = [
    "uptake.web.logging.RequestLog",  # first: times every answer, static files included
    "django.middleware.security.SecurityMiddleware",
    "uptake.web.security.SecurityHeaders",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "uptake.web.caching.PublishedConditionalGet",
    "axes.middleware.AxesMiddleware",
]
ROOT_URLCONF = "uptake.web.urls"
WSGI_APPLICATION = "uptake.web.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "uptake.web.views.site_context",
    ]},
}]

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("UPTAKE_STATIC_ROOT") or None  # for `collectstatic` in production
STATICFILES_DIRS = [
    ("nhsuk", str(FRONTEND / "nhsuk-frontend" / "dist" / "nhsuk")),
    ("vega", str(FRONTEND / "vega" / "build")),
    ("vega-lite", str(FRONTEND / "vega-lite" / "build")),
    ("vega-embed", str(FRONTEND / "vega-embed" / "build")),
]
if STATIC_ROOT:
    # Production: `django-admin collectstatic` copies every file to STATIC_ROOT with its content's
    # hash in the name and gzip/Brotli copies beside it; pages link the hashed names, which
    # WhiteNoise serves with a ten-year `Cache-Control: max-age=315360000, public, immutable`
    # and the compressed copy a browser accepts.
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    WHITENOISE_USE_FINDERS = False
    # Source maps, TypeScript declarations, Sass and templates of the npm packages are not fetched
    # by pages: compressing them would double collectstatic's time for nothing.
    WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
        "jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "tgz", "bz2", "tbz", "xz", "br", "swf", "flv", "woff",
        "woff2", "3gp", "3gpp", "asf", "avi", "m4v", "mov", "mp4", "mpeg", "mpg", "webm", "wmv",  # WhiteNoise's own
        "map", "ts", "mts", "scss", "md", "njk")
else:
    WHITENOISE_USE_FINDERS = True  # serve straight from the npm packages when collectstatic has not run
WHITENOISE_MAX_AGE = 3600  # files asked for by their unhashed names (the NHS stylesheet's icons)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_TZ = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("UPTAKE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
if os.environ.get("UPTAKE_HTTPS", "") == "1":
    # Behind a reverse proxy that terminates TLS and says so in X-Forwarded-Proto (docs/operations.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("UPTAKE_HSTS_SECONDS") or 31536000)

LOGGING = logging_config(os.environ.get("UPTAKE_LOG_FORMAT", "text"), os.environ.get("UPTAKE_LOG_LEVEL", "WARNING"))

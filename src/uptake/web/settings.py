"""Django settings, all from the environment (twelve-factor):

    UPTAKE_HOME            the warehouse home; the portal reads <home>/published/scorecard.duckdb
    UPTAKE_PUBLISHED       a published scorecard file elsewhere (overrides UPTAKE_HOME's)
    UPTAKE_DATABASE_URL    the portal's own database: postgres://user:pass@host:port/name, or
                           sqlite:///path (default: <home>/portal.sqlite3)
    UPTAKE_SECRET_KEY      required when UPTAKE_DEBUG is off and the host is not local
    UPTAKE_DEBUG           1 for development
    UPTAKE_ALLOWED_HOSTS   comma-separated (default: localhost, 127.0.0.1)
    UPTAKE_STATIC_ROOT     where `collectstatic` puts files for production serving
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..config import home_dir

WEB = Path(__file__).resolve().parent
FRONTEND = WEB / "frontend" / "node_modules"
HOME = home_dir()

DEBUG = os.environ.get("UPTAKE_DEBUG", "") == "1"
SECRET_KEY = os.environ.get("UPTAKE_SECRET_KEY") or "uptake-local-only-not-secret"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("UPTAKE_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")
                 if h.strip()]
PUBLISHED = Path(os.environ.get("UPTAKE_PUBLISHED") or HOME / "published" / "scorecard.duckdb")
GEO_DIR = PUBLISHED.parent / "geo"


def _database(url: str | None) -> dict:
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(HOME / "portal.sqlite3")}
    u = urlparse(url)
    if u.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(u.path) or ":memory:"}
    if u.scheme in ("postgres", "postgresql"):
        return {"ENGINE": "django.db.backends.postgresql", "NAME": unquote(u.path.lstrip("/")),
                "USER": unquote(u.username or ""), "PASSWORD": unquote(u.password or ""),
                "HOST": u.hostname or "", "PORT": str(u.port or ""), "CONN_MAX_AGE": 60}
    raise ValueError(f"UPTAKE_DATABASE_URL {url!r}: expected postgres://… or sqlite:///…")


DATABASES = {"default": _database(os.environ.get("UPTAKE_DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "uptake.web.apps.PortalConfig",
    "uptake.web.accounts.apps.AccountsConfig",
    "uptake.web.compliance.apps.ComplianceConfig",
    "uptake.web.opportunities.apps.OpportunitiesConfig",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "uptake.web.caching.PublishedConditionalGet",
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
WHITENOISE_USE_FINDERS = True  # serve straight from the npm packages when collectstatic has not run
WHITENOISE_MAX_AGE = 3600

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_TZ = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("UPTAKE_LOG_LEVEL", "WARNING")},
}

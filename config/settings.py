"""Settings for minside-bridge, read from the environment (see .env.example)."""

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.csp import content_security_policy

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# `development` (make run, tests) or `production`. Production has no secret defaults.
DJANGO_ENV = env.str("DJANGO_ENV", default="development")
IS_PRODUCTION = DJANGO_ENV == "production"

# Importing the settings creates no directory: DATA_DIR is made by the code that writes
# into it (a development secret below, the SQLite database and static root in
# config.apps, the filesystem broker).
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()

# Production never falls back to a development default (SQLite, the filesystem broker,
# generated secrets, localhost): every one of these must be given, and all that are
# missing are named at once.
PRODUCTION_REQUIRED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "ALLOWED_HOSTS",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
)
if IS_PRODUCTION:
    _missing = [name for name in PRODUCTION_REQUIRED if not env.str(name, default="").strip()]
    if _missing:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs these environment variables, which are not set: "
            + ", ".join(_missing)
            + " (see .env.example)."
        )


def _kept_dev_secret(name: str, make) -> str:
    """A development-only secret generated once and kept under DATA_DIR."""
    path = DATA_DIR / name
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _required_in_production(name: str, dev_file: str, make) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if IS_PRODUCTION:  # unreachable after the check above; kept as a second lock
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV=production")
    return _kept_dev_secret(dev_file, make)


SECRET_KEY = _required_in_production("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
# Comma-separated Fernet keys; the first encrypts, all decrypt (key rotation).
FIELD_ENCRYPTION_KEYS = [
    key.strip()
    for key in _required_in_production(
        "FIELD_ENCRYPTION_KEYS", "field_encryption_key", lambda: Fernet.generate_key().decode()
    ).split(",")
    if key.strip()
]

DEBUG = env.bool("DEBUG", default=not IS_PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if IS_PRODUCTION else ["localhost", "127.0.0.1", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "simple_history",
    "axes",
    "config.apps.ConfigAppConfig",
    "organizations",
    "sync",
    "webhooks",
    "portal_integration",
    "dataverse",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the path or query: NUL and control bytes are a 400 (issue 12).
    "config.middleware.HostileRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # The webhook endpoint is answered here, past the browser-facing middleware below.
    "webhooks.middleware.WebhookIntakeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Styled 403/404 pages inside /admin/ (never the DEBUG page for a refused object).
    "organizations.admin_errors.AdminErrorPagesMiddleware",
    # Last, as django-axes requires: turns a locked-out login into its own answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat write at once under `make run`: WAL lets readers run beside
    # the writer, IMMEDIATE takes the write lock up front (no upgrade deadlocks) and
    # the timeout makes a writer wait instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=30),
    }
    # A file, not memory, so worker and server processes started by tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
# Connections are kept between requests and tasks (a new one per request cost PostgreSQL
# a backend start and SQLite a file open plus Django's per-connection setup, ~1 ms of
# CPU each: the embedded default's intake went from ~180 to ~250 requests/s with it).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Logins -------------------------------------------------------------------------
# django-axes first: it refuses a login for a username + client address with too many
# recent failures before any password is checked (config.auth_backends).
AUTHENTICATION_BACKENDS = [
    "config.auth_backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
# Per username *and* address: one attacker cannot lock an administrator out everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.auth_backends.lockout_response"
AXES_COOLOFF_MESSAGE = _("Too many failed login attempts. Try again later.")
# Lockouts are read and lifted with `manage.py axes_list_attempts` / `axes_reset_username`;
# the admin registry stays the project's scoped admins only.
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time ------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="nb")
LANGUAGES = [("nb", _("Norwegian Bokmål")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date/time, number and duration format per language (config/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="Europe/Oslo")
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"  # made by collectstatic, or in development by config.apps
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if IS_PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not IS_PRODUCTION

# --- Security (docs/reliability.md, "Production profile") ----------------------------
# The TLS-terminating proxy sets X-Forwarded-Proto (and must overwrite one sent by a client).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=IS_PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=IS_PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=IS_PRODUCTION)
# Load balancers probe over plain HTTP; a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if IS_PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy in every environment (django-csp; config/csp.py says why).
CONTENT_SECURITY_POLICY = content_security_policy()
# Error pages (DEBUG's included) never show secrets: see config/error_reports.py.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.SecretSafeExceptionReporterFilter"

# --- Cache (API throttling counters) ------------------------------------------------
# Per process by default; point CACHE_URL at Redis (e.g. redis://host:6379/1) to share
# the API rate counters between every web process.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- REST API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("API_PAGE_SIZE", default=50),
    # Per token (docs/api.md); the webhook endpoint sets its own empty list: never throttled.
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.ApiTokenRateThrottle",
        "config.throttling.ApiAnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_token": env.str("API_THROTTLE_RATE", default="600/min"),
        "api_anonymous": env.str("API_ANONYMOUS_THROTTLE_RATE", default="60/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "minside-bridge API",
    "DESCRIPTION": "Likeperson app API and the Min Side webhook endpoint.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Celery ------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded default. Folders are created by `config.celery` when the app loads,
    # not here: importing settings writes nothing.
    BROKER_DIR = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Exchange tables (and the worker's control messages) under DATA_DIR, not in
        # the current directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # kombu sleeps this long after every poll that found nothing it could take, which
        # with a prefetch of one message means after every task: 1 s by default caps a
        # worker at about one task per second. 50 ms costs an idle worker ~20 directory
        # listings a second.
        "polling_interval": env.float("CELERY_FILESYSTEM_POLLING_INTERVAL", default=0.05),
        # A drain wake-up is not written while another is still waiting (config.broker).
        "coalesce_tasks": ["sync.inbox_drain"],
    }
else:
    # A message not acknowledged within this time is delivered again (Redis); retry
    # countdowns stay well below it so a retry is never also redelivered.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# Late acknowledgement: a message is removed only after its task finished, and a
# worker that dies mid-task gives the message back instead of losing it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "monitoring.beat:MonitoredDatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the database connection around every task unless this is
# set; reusing it (CONN_MAX_AGE, health checks) saves a new PostgreSQL connection per task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)

# --- Webhooks (SPEC §4) --------------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_PUBLIC_URL = env.str("WEBHOOK_PUBLIC_URL", default="")
WEBHOOK_DEFAULT_TOLERANCE_SECONDS = env.int("WEBHOOK_DEFAULT_TOLERANCE_SECONDS", default=300)
WEBHOOK_SECRET_OVERLAP_HOURS = env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24)
# Floods (SPEC §4.3): past this many rejections per minute from one client address, further
# refusals are answered 429 rate_limited and counted per minute instead of stored one by
# one (0 turns this off). Authentic, correctly signed requests are never throttled.
WEBHOOK_REJECTION_RATE_PER_MINUTE = env.int("WEBHOOK_REJECTION_RATE_PER_MINUTE", default=60)
# Absurd headers are refused with the JSON shape; gunicorn's own limits are set above these
# so that such requests reach Django at all.
WEBHOOK_MAX_HEADERS = env.int("WEBHOOK_MAX_HEADERS", default=100)
WEBHOOK_MAX_HEADER_BYTES = env.int("WEBHOOK_MAX_HEADER_BYTES", default=8192)

# --- Sync (SPEC §5) ------------------------------------------------------------------
# The sweeper wakes the drain for due events nothing woke it for (a lost message); it is
# one indexed query, so it runs often. A claim older than STUCK is presumed dead (killed
# worker) and taken over by the next drain.
SYNC_SWEEP_INTERVAL_SECONDS = env.int("SYNC_SWEEP_INTERVAL_SECONDS", default=10)
SYNC_PROCESSING_STUCK_SECONDS = env.int("SYNC_PROCESSING_STUCK_SECONDS", default=120)
# How long an event for a member not yet known waits for its create event.
SYNC_UNKNOWN_TARGET_WINDOW_SECONDS = env.int("SYNC_UNKNOWN_TARGET_WINDOW_SECONDS", default=600)
# Transient errors (database, broker) retry after BASE·2^(attempt-1) seconds, at most MAX
# (and always well below the broker's visibility timeout), and fail after MAX_ATTEMPTS.
SYNC_RETRY_BACKOFF_SECONDS = env.int("SYNC_RETRY_BACKOFF_SECONDS", default=2)
SYNC_RETRY_BACKOFF_MAX_SECONDS = env.int("SYNC_RETRY_BACKOFF_MAX_SECONDS", default=300)
SYNC_MAX_ATTEMPTS = env.int("SYNC_MAX_ATTEMPTS", default=10)
SYNC_HEARTBEAT_INTERVAL_SECONDS = env.int("SYNC_HEARTBEAT_INTERVAL_SECONDS", default=30)
# The drain claims this many due events at a time and applies them in one transaction.
SYNC_DRAIN_BATCH_SIZE = env.int("SYNC_DRAIN_BATCH_SIZE", default=100)
# A drain task hands over to a fresh one after this long, so it never holds a worker
# process for minutes (and stays far below CELERY_TASK_SOFT_TIME_LIMIT).
SYNC_DRAIN_TIME_BUDGET_SECONDS = env.float("SYNC_DRAIN_TIME_BUDGET_SECONDS", default=10.0)
# After a batch smaller than SYNC_DRAIN_BATCH_SIZE the drain waits this long before it
# claims again, so a steady stream is applied in batches of dozens rather than ones and
# twos (each batch costs two transactions whatever its size). Adds at most this to the lag.
SYNC_DRAIN_LINGER_SECONDS = env.float("SYNC_DRAIN_LINGER_SECONDS", default=0.1)
# Each process sends at most one wake-up per this many seconds (sync.dispatch): the
# added lag is at most this, the broker sees a few messages per second, not one per event.
SYNC_WAKE_COALESCE_SECONDS = env.float("SYNC_WAKE_COALESCE_SECONDS", default=0.05)

# Reconciliation from the Dataverse Web API (SPEC §5.1).
DATAVERSE_RECONCILE_MINUTES = env.int("DATAVERSE_RECONCILE_MINUTES", default=15)
# A pass renews its lease page by page; a pass whose worker died is taken over after this.
DATAVERSE_PASS_LEASE_SECONDS = env.int("DATAVERSE_PASS_LEASE_SECONDS", default=600)
# A full pass over a large table outlasts the default task limit.
DATAVERSE_PASS_TIME_LIMIT_SECONDS = env.int("DATAVERSE_PASS_TIME_LIMIT_SECONDS", default=3600)
# --- Monitoring (docs/monitoring.md) -----------------------------------------------
# Beat probes GET <WEBHOOK_PUBLIC_URL>health every PROBE_INTERVAL; beat and every worker
# record a heartbeat every HEARTBEAT_INTERVAL from their own process (not through the
# queue). A part whose last sign is older than STALE_AFTER is reported down.
MONITORING_PROBE_INTERVAL_SECONDS = env.int("MONITORING_PROBE_INTERVAL_SECONDS", default=30)
MONITORING_PROBE_TIMEOUT_SECONDS = env.int("MONITORING_PROBE_TIMEOUT_SECONDS", default=5)
MONITORING_HEARTBEAT_INTERVAL_SECONDS = env.int("MONITORING_HEARTBEAT_INTERVAL_SECONDS", default=30)
MONITORING_STALE_AFTER_SECONDS = env.int("MONITORING_STALE_AFTER_SECONDS", default=120)
# Rejection-rate alert: above this share of the last hour's payloads, once at least
# MIN_PAYLOADS arrived (a handful of stray requests is not an incident).
MONITORING_REJECTION_ALERT_RATE = env.float("MONITORING_REJECTION_ALERT_RATE", default=0.10)
MONITORING_REJECTION_ALERT_MIN_PAYLOADS = env.int(
    "MONITORING_REJECTION_ALERT_MIN_PAYLOADS", default=20
)
# A stuck alert is repeated at most this often.
MONITORING_REMINDER_HOURS = env.int("MONITORING_REMINDER_HOURS", default=24)
# Optional second channel: an incoming-webhook URL (Teams, Slack) that gets {"text": ...}.
MONITORING_ALERT_WEBHOOK_URL = env.str("MONITORING_ALERT_WEBHOOK_URL", default="")
# Extra alert e-mail recipients besides the global administrators (comma-separated).
MONITORING_ALERT_EMAILS = env.list("MONITORING_ALERT_EMAILS", default=[])
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="minside-bridge@localhost")
# GET /metrics (SPEC §9): 404 unless set; then `Authorization: Bearer <token>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Shared by every web and worker process of this machine (prometheus-client multiprocess).
PROMETHEUS_MULTIPROC_DIR = Path(
    env.str("PROMETHEUS_MULTIPROC_DIR", default=str(DATA_DIR / "metrics"))
).resolve()
# Retention of personal data: finished events lose payload, headers and normalised
# events after this many days; rejection rows are deleted. Counts and roll-ups stay.
SYNC_PAYLOAD_RETENTION_DAYS = env.int("SYNC_PAYLOAD_RETENTION_DAYS", default=30)
WEBHOOK_REJECTION_RETENTION_DAYS = env.int("WEBHOOK_REJECTION_RETENTION_DAYS", default=30)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
RETENTION_INTERVAL_SECONDS = env.int("RETENTION_INTERVAL_SECONDS", default=24 * 3600)
MONITORING_ROLLUP_INTERVAL_SECONDS = env.int("MONITORING_ROLLUP_INTERVAL_SECONDS", default=300)

# --- Logging -------------------------------------------------------------------------
# `json` (production default): one JSON object per line (config/logging.py); `plain`
# (development default): readable lines, in which structured events are JSON too.
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if IS_PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    # Exception messages can quote payload values: the type and traceback are logged.
    "filters": {"no_exception_messages": {"()": "config.logging.NoExceptionMessagesFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["no_exception_messages"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

"""Settings for the clinic backend, read from the environment (twelve-factor).

Every setting has a safe local default; nothing exists only in production.
A `.env` file in the project root is read when present (it is git-ignored);
`.env.example` lists every variable with the values a production host uses.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (see .env.example), "
            "or set DEBUG=true for a local development run."
        )
    SECRET_KEY = "django-insecure-local-development-only"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "axes",
    # Before procrastinate: its `procrastinate` command keeps the worker running through a
    # database restart (config/worker.py); config has no models.
    "config",
    "procrastinate.contrib.django",
    "django_htmx",
    "clinic",
    "intake",
    "booking",
    "records",
    "integrations",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files (admin, Swagger UI) from gunicorn itself (WhiteNoise).
    "config.middleware.StaticFilesMiddleware",
    # `Cache-Control: no-store` on every answer under /api/ but the public ones
    # (outermost but for the two above, so it sees every answer, errors included).
    "config.middleware.NoStoreMiddleware",
    # The pages' Content-Security-Policy on every answer outside the admin without one of its own,
    # Django's own error answers included (web.security).
    "web.security.PagePolicyMiddleware",
    # JSON answers under /api/ for oversized bodies and database outages.
    "config.middleware.ApiGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # `request.htmx`: the browser pages answer htmx requests with a fragment (web/).
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The clinic's settings row is read at most once per request.
    "clinic.middleware.ClinicPerRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out admin login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# --- Database ---------------------------------------------------------------
# PostgreSQL only, everywhere. DATABASE_URL is the application's login, e.g.
# postgres://clinic_app:...@db:5432/clinic. Unset, the project's own embedded
# PostgreSQL is started and used (config/embedded_db.py: local runs and tests,
# nothing to install). DATABASE_OWNER_URL, when given, is the role that owns
# the schema: migrations and the test database's setup run as it, and the
# application's role gets only the grants it needs (config/db_roles.py).


def _database(variable: str) -> dict:
    """A DATABASES entry from a URL; a Unix socket directory may be given percent-encoded as the host."""
    entry = env.db(variable)
    entry["HOST"] = unquote(entry["HOST"])
    return entry


if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": _database("DATABASE_URL")}
else:
    from config import embedded_db

    DATABASES = {"default": embedded_db.database_settings()}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...): nothing else is supported.")
DATABASE_OWNER = _database("DATABASE_OWNER_URL") if env.str("DATABASE_OWNER_URL", default="") else None
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ---------------------------------------------------------------

AUTH_USER_MODEL = "clinic.User"
# The lockout check comes first so a locked-out account is refused before its
# password is even tried (django-axes).
AUTHENTICATION_BACKENDS = [
    "config.security.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Front-desk staff get the admin permissions of their role (clinic/backends.py).
    "clinic.backends.RolePermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation and time --------------------------------------------
# Timestamps are stored and returned in UTC. Each location has its own zone
# (working hours, shift generation, the local dates of query strings); the
# first location, and the clinic row, take CLINIC_TIME_ZONE on first run.

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
CLINIC_TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="America/New_York")
CLINIC_NAME = env.str("CLINIC_NAME", default="Massage Clinic")
CLINIC_CURRENCY = env.str("CLINIC_CURRENCY", default="USD")

# --- Static files -------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves what collectstatic gathered (the Dockerfile runs it), with
# hashed names cached forever and gzip/brotli copies.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"},
}

# --- Email ------------------------------------------------------------------
# EMAIL_URL picks the backend: unset prints mail to the console;
# smtp+tls://user:password@smtp.example.com:587 sends it.

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="clinic@localhost")
# Seconds an SMTP server may take to answer before the worker gives up and the mail job retries.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Background work (procrastinate) -----------------------------------------------
# Jobs are rows in this database, deferred through the request's own connection, so a
# job exists if and only if the transaction that deferred it committed. Tasks live in
# each app's tasks.py; `python manage.py procrastinate worker` runs them (README.md).
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
# The retry policy of jobs that raise (config/tasks.py): at most TASK_RETRY_MAX_ATTEMPTS runs,
# the n-th retry TASK_RETRY_EXPONENTIAL_WAIT ** n seconds after the run before it. The fault
# tests shorten it (booking/tests/test_worker.py); production keeps the defaults.
TASK_RETRY_MAX_ATTEMPTS = env.int("TASK_RETRY_MAX_ATTEMPTS", default=13)
TASK_RETRY_EXPONENTIAL_WAIT = env.int("TASK_RETRY_EXPONENTIAL_WAIT", default=2)
# The job tables are the queue's, shown read-only in the admin.
PROCRASTINATE_READONLY_MODELS = True

# --- Webhooks ---------------------------------------------------------------------
# Off: a webhook's URL must be https and resolve to public addresses only, checked when it is
# saved and again at each delivery (integrations/webhooks/urlguard.py). On: any address and plain
# http too, for a receiver on this machine or a private network (local runs, tests). Never on
# where the app's network reaches anything that must not be called.
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)

# --- REST framework -----------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic.authentication.TokenAuthentication",
        # REST framework's, refusing inactive therapists as the token does (clinic/authentication.py).
        "clinic.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The API reads JSON only (docs/api.md, Conventions): a form or multipart body is a 415.
    # (The admin's forms are Django's, not REST framework's.) JSON nested too deep for
    # Python is a 400, not a RecursionError 500.
    "DEFAULT_PARSER_CLASSES": ["config.parsers.NestingSafeJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.exceptions.api_exception_handler",
    # REST framework's throttles, counting exactly under concurrent requests (config/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.AnonRateThrottle",
        "config.throttling.UserRateThrottle",
    ],
    # Rates are environment-driven so a load test or a large clinic can raise
    # them without a code change (docs/api.md, Operations).
    "DEFAULT_THROTTLE_RATES": {
        "auth": env.str("THROTTLE_AUTH", default="10/min"),
        "user": env.str("THROTTLE_USER", default="120/min"),
        "anon": env.str("THROTTLE_ANON", default="60/min"),
    },
    # How many proxies in front append to X-Forwarded-For. 0 trusts only the
    # connection's address; behind one proxy set 1, or every client would
    # share the proxy's address, and with None a client could pick its own.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
}

REST_KNOX = {
    # Knox stores only a hash of each token; tokens expire.
    "TOKEN_TTL": timedelta(hours=env.int("TOKEN_TTL_HOURS", default=24 * 7)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# Live tokens per user: a login beyond it revokes the oldest (clinic.services.token_create).
MAX_TOKENS_PER_USER = env.int("MAX_TOKENS_PER_USER", default=10)

SPECTACULAR_SETTINGS = {
    "TITLE": "Massage clinic booking and intake API",
    "DESCRIPTION": (
        "Clients pick a service, find a time, fill the intake form and book; therapists read "
        "their day; the front desk runs the schedule. See README.md and docs/api.md.\n\n"
        "JSON in and out. Send `Authorization: Token <key>` (from `POST /api/v1/auth/token/`) where an "
        "operation needs a login. Every operation documents every answer it can give, each with its body: "
        "a rule of the clinic that refuses a request is a 409 `{code, detail}` whose `code` is one of the "
        "operation's listed codes; 429 and 503 carry `Retry-After`."
    ),
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Operation ids and tags fall back to the path after this prefix (each operation names its own id).
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One tag per resource (config.openapi.resource_tag), in this order.
    "TAGS": [
        {"name": "auth", "description": "Register, log in for a token, log out."},
        {"name": "me", "description": "The signed-in account: read it, export what the clinic holds, delete it."},
        {"name": "clinic", "description": "The clinic's name, currency and booking policies."},
        {"name": "locations", "description": "Where sessions take place, each in its own time zone."},
        {"name": "rooms", "description": "Treatment rooms of the locations that book rooms (front desk)."},
        {"name": "services", "description": "What clients book: a length of time, a buffer and a price."},
        {"name": "therapists", "description": "Who gives the sessions, their modalities and locations."},
        {"name": "working-hours", "description": "Each therapist's weekly template, in local time (front desk)."},
        {"name": "shifts", "description": "When each therapist works where; bookings go inside them (front desk)."},
        {"name": "time-off", "description": "A therapist's time off, subtracted from availability (front desk)."},
        {"name": "closures", "description": "A location or room closed for a while (front desk)."},
        {"name": "availability", "description": "The start times offered for a service."},
        {"name": "intake", "description": "The intake form, and a preview of its assessment."},
        {"name": "bookings", "description": "Book, move, cancel and close sessions; a booking's intake and review."},
        {"name": "waitlist", "description": "Wait for a time of a service; accept or decline the time held for you."},
        {"name": "clients", "description": "A client's history, for the therapists who treat them."},
        {"name": "day-sheet", "description": "A therapist's sessions of a day, with what to prepare."},
        {"name": "calendar", "description": "A therapist's calendar feed (iCalendar) and its secret address."},
        {"name": "webhooks", "description": "Signed notices of booking events to other systems (front desk)."},
        {"name": "fhir", "description": "FHIR R4 reads (application/fhir+json): appointments, directory, intake."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "ModalityEnum": "clinic.models.Modality",
        "BookingStatusEnum": "booking.models.Booking.Status",
        "WaitlistEntryStatusEnum": "booking.models.WaitlistEntry.Status",
        "RoleEnum": "clinic.models.Role",
        "WebhookEventEnum": "booking.events.EVENTS",
    },
}

# --- Failed-login lockout (django-axes) -------------------------------------------
# After AXES_FAILURE_LIMIT failed logins for one email from one address within
# AXES_COOLOFF_MINUTES, that email is locked for AXES_COOLOFF_MINUTES from
# that address only: a stranger guessing from elsewhere cannot lock a real
# user (staff, an admin) out, and the user still logs in from their own
# address. Rotating User-Agents does not help (they are not counted apart).
# The address is the client's as the throttles see it (config.security.client_ip,
# NUM_PROXIES); the `auth` throttle limits each address across all emails.
# Unknown emails are counted and locked the same way, so a lockout never tells
# whether an account exists. Admins unlock early in the admin (Axes → Access attempts).

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# One count per (email, address) pair. This also satisfies axes' own check
# (axes.W006: ip_address among the lockout parameters).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Both the API and the admin's login form pass the email as `username`.
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
# Attempts during a lockout do not prolong it: it ends AXES_COOLOFF_MINUTES
# after the last counted failure.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "config.security.client_ip"

# --- Cache --------------------------------------------------------------------
# Throttle counters live here. Unset, each process has its own (locmem): fine
# for one process (runserver, the test suite), but with several gunicorn
# workers or hosts each would allow the whole rate. Every multi-process setup
# (docker-compose.yml, production) sets CACHE_URL=redis://host:6379/<db>, one
# Redis for all processes: Django's own RedisCache, with the `redis` client.

CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Security (production) ----------------------------------------------------
# With DEBUG off these pass `manage.py check --deploy`. Behind a TLS-terminating
# proxy: TRUST_X_FORWARDED_PROTO=true sets SECURE_PROXY_SSL_HEADER (only when
# the proxy overwrites X-Forwarded-Proto: a client must never set it), NUM_PROXIES
# (REST framework, above) counts the proxies for the client's address, and
# SECURE_SSL_REDIRECT=false where the proxy already redirects to HTTPS.

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Request size limits: intake answers are small; anything larger is refused
# (413 under /api/, see config.middleware).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# --- Logging ------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # procrastinate lists its task registrations at start-up of every process (twice: its app is
        # built from a blueprint); the worker's own lines (jobs started, retried, failed) stay.
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
    },
}

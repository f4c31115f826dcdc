"""One env-driven settings module.

With nothing set the platform runs on its embedded defaults: SQLite and
in-process (eager) Celery task execution. Set DATABASE_URL and REDIS_URL for
the production shape (PostgreSQL + Redis broker, separate worker and beat).
"""
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "servicedesk.apps.ServicedeskConfig",
    "orders.apps.OrdersConfig",
    "delivery.apps.DeliveryConfig",
    "complaints.apps.ComplaintsConfig",
    "kpi.apps.KpiConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "servicedesk.urls"
WSGI_APPLICATION = "servicedesk.wsgi.application"
AUTH_USER_MODEL = "servicedesk.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "login"

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
                "django.template.context_processors.i18n",
                "servicedesk.context_processors.unread_notices",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server and the task runner share the file without
    # "database is locked" on every overlapping write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "servicedesk" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    # In development static files come from the finders; STATIC_ROOT exists only after collectstatic.
    import warnings

    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

# --- API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["servicedesk.api.permissions.RoleModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "servicedesk.api.pagination.DefaultPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "servicedesk.api.errors.exception_handler",
    "DEFAULT_VERSIONING_CLASS": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "servicedesk API",
    "DESCRIPTION": "Customer, contact, order, delivery and complaint APIs of the call-centre platform.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets share the field name "outcome": a contact's and an inbound SMS's.
    "ENUM_NAME_OVERRIDES": {
        "ContactOutcomeEnum": "servicedesk.models.Outcome",
        "InboundSmsOutcomeEnum": "servicedesk.models.InboundSms.Outcome",
    },
}

# --- Celery ----------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# No broker configured: tasks run in-process once the transaction commits.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "outbox-redrive": {"task": "servicedesk.tasks.outbox_redrive", "schedule": timedelta(seconds=30)},
}
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))  # uploads; shared by web and worker
MEDIA_URL = "/media/"  # never served publicly: uploads are read by the app only
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Outbox ----------------------------------------------------------------
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_BACKOFF_BASE_SECONDS = env.int("OUTBOX_BACKOFF_BASE_SECONDS", default=15)
OUTBOX_BACKOFF_CAP_SECONDS = env.int("OUTBOX_BACKOFF_CAP_SECONDS", default=3600)
# A message claimed by a worker that died is retried after this long.
OUTBOX_CLAIM_TIMEOUT_SECONDS = env.int("OUTBOX_CLAIM_TIMEOUT_SECONDS", default=300)

# --- Logging: personal data never reaches a log line -------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_personal_data": {"()": "servicedesk.logging.MaskPersonalDataFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# --- Billing/BSS adapter (servicedesk.billing) -------------------------------
BILLING_ADAPTER = env("BILLING_ADAPTER", default="simulated")  # "simulated", "http" or a dotted class path
BILLING_URL = env("BILLING_URL", default="")
BILLING_TOKEN = env("BILLING_TOKEN", default="")
BILLING_SIMULATED_LATENCY_MS = env.int("BILLING_SIMULATED_LATENCY_MS", default=0)
BILLING_SIMULATED_FAILURE_RATE = env.float("BILLING_SIMULATED_FAILURE_RATE", default=0.0)

# --- Orders ------------------------------------------------------------------
ORDER_CLAIM_MINUTES = env.int("ORDER_CLAIM_MINUTES", default=15)
CELERY_BEAT_SCHEDULE["opportunities-mark-overdue"] = {"task": "orders.tasks.opportunities_mark_overdue", "schedule": timedelta(minutes=1)}

# --- SMS gateway (servicedesk.sms) -------------------------------------------
SMS_GATEWAY = env("SMS_GATEWAY", default="builtin")  # "builtin" (stores only), "http" or a dotted class path
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_TIMEOUT_SECONDS = env.float("SMS_GATEWAY_TIMEOUT_SECONDS", default=10.0)
SMS_DEFAULT_LANGUAGE = env("SMS_DEFAULT_LANGUAGE", default="zh-hans")  # and the fallback when a template lacks a language
SMS_HOTLINE = env("SMS_HOTLINE", default="10010")  # the support line notices tell customers to call

# --- Webhooks to integrating systems (servicedesk.webhooks) -------------------
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)  # per POST; a slow subscriber then retries later

CELERY_BEAT_SCHEDULE["delivery-daily-reports-compile"] = {"task": "delivery.tasks.daily_reports_compile", "schedule": timedelta(minutes=15)}
CELERY_BEAT_SCHEDULE["complaints-early-warning-scan"] = {
    "task": "complaints.tasks_warning.early_warning_scan", "schedule": timedelta(minutes=1), "options": {"expires": 55},
}
CELERY_BEAT_SCHEDULE["complaints-work-orders-flag-breaches"] = {"task": "complaints.tasks.work_orders_flag_breaches", "schedule": timedelta(minutes=1)}

# --- KPIs (kpi app) -----------------------------------------------------------
# Targets that differ from kpi.definitions, e.g. {"satisfaction": 85}.
KPI_TARGETS = env.json("KPI_TARGETS", default={})
# A rebuild of this many days or more builds a new rollup table and swaps it in (PostgreSQL; see kpi.rollups.rebuild).
KPI_REBUILD_SWAP_DAYS = env.int("KPI_REBUILD_SWAP_DAYS", default=28)
CELERY_BEAT_SCHEDULE["kpi-rollups-update"] = {
    "task": "kpi.tasks.rollups_update", "schedule": timedelta(minutes=env.int("KPI_UPDATE_MINUTES", default=5)), "options": {"expires": 240},
}
CELERY_BEAT_SCHEDULE["kpi-ratings-monthly"] = {"task": "kpi.tasks.ratings_monthly", "schedule": crontab(minute=30, hour=2, day_of_month=1)}

# --- Web self-service hall: one-time SMS codes (servicedesk.otp) and the signed-in session ----
OTP_TTL_SECONDS = env.int("OTP_TTL_SECONDS", default=300)  # a code expires after this long
OTP_MAX_ATTEMPTS = env.int("OTP_MAX_ATTEMPTS", default=5)  # wrong tries per code
OTP_RESEND_SECONDS = env.int("OTP_RESEND_SECONDS", default=60)  # at most one code per number in this long
OTP_PER_NUMBER_PER_HOUR = env.int("OTP_PER_NUMBER_PER_HOUR", default=5)
OTP_PER_IP_PER_HOUR = env.int("OTP_PER_IP_PER_HOUR", default=20)
# Code rows (hashes, attempts, addresses) are deleted this long after they were sent; the limits look back one hour.
OTP_KEEP_HOURS = env.int("OTP_KEEP_HOURS", default=48)
CELERY_BEAT_SCHEDULE["otp-purge"] = {"task": "servicedesk.tasks.otp_purge", "schedule": crontab(minute=40, hour=3)}
# Behind a reverse proxy every request comes from the proxy: name the header it sets (e.g. HTTP_X_FORWARDED_FOR;
# its last address is the one the proxy saw). Empty: REMOTE_ADDR.
OTP_CLIENT_IP_HEADER = env("OTP_CLIENT_IP_HEADER", default="")
SELF_SERVICE_SESSION_SECONDS = env.int("SELF_SERVICE_SESSION_SECONDS", default=1800)  # a verified number stays signed in
# The hall's own system account: it takes web-hall complaints (their first-ask owner), records callback scores
# and appointment changes; created on demand with only the permissions the hall's actions need, no password.
SELF_SERVICE_USERNAME = env("SELF_SERVICE_USERNAME", default="selfservice")

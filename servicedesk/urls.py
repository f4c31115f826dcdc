from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import apis, apis_selfservice, apis_sms_hall, apis_webhooks, views, views_channels, views_inbox

router = DefaultRouter()
router.register("customers", apis.CustomerViewSet, basename="customer")
router.register("subscriptions", apis.SubscriptionViewSet, basename="subscription")
router.register("contacts", apis.ContactViewSet, basename="contact")
router.register("scripts", apis.ScriptViewSet, basename="script")
router.register("webhooks", apis_webhooks.WebhookSubscriptionViewSet, basename="webhook")

console_patterns = [
    path("", views.home, name="home"),
    path("customers/<int:customer_id>/", views.customer, name="customer"),
    path("customers/<int:customer_id>/timeline/", views.customer_timeline, name="customer_timeline"),
    path("customers/<int:customer_id>/contacts/", views.contact_create, name="contact_create"),
    path("scripts/", views.script_search, name="scripts"),
    path("notices/", views.notices, name="notices"),
    path("notices/read/", views.notices_read, name="notices_read"),
    path("channels/live/", views_channels.channels_live, name="channels_live"),
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:contact_id>/done/", views_inbox.inbox_done, name="inbox_done"),
]

urlpatterns = [
    path("", include((console_patterns, "console"))),
    path("", include("orders.urls")),
    path("", include("delivery.urls")),
    path("", include(("servicedesk.views_sms", "sms"))),
    path("self/", include(("servicedesk.views_selfservice", "selfservice"))),
    path("", include("delivery.api_urls")),
    path("", include("complaints.urls")),
    path("", include("complaints.api_urls")),
    path("", include("kpi.urls")),
    path("", include("kpi.api_urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/self-service/", include(apis_selfservice.selfservice_urls())),
    path("api/v1/sms/inbound/", apis_sms_hall.SmsInboundView.as_view(), name="sms-inbound"),
    path("api/v1/", include(router.urls)),
    path("", include("orders.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

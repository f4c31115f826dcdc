"""The carrier tracking API (HMAC-signed) and the delivery REST endpoints."""
urlpatterns = []

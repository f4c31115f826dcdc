"""API routes of the orders app, included at the site root by ``servicedesk.urls``:
``/api/v1/orders/`` (``apis.py``) and TMF622 under ``/tmf-api/productOrderingManagement/v4/`` (``tmf622.py``)."""
from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import apis, tmf622

router = SimpleRouter()
router.register("orders", apis.OrderViewSet, basename="order")

tmf622_patterns = [
    path("productOrder", tmf622.ProductOrderList.as_view(), name="tmf622-product-order-list"),
    path("productOrder/<str:id>", tmf622.ProductOrderDetail.as_view(), name="tmf622-product-order-detail"),
    path("cancelProductOrder", tmf622.CancelProductOrderList.as_view(), name="tmf622-cancel-product-order-list"),
    path("cancelProductOrder/<str:id>", tmf622.CancelProductOrderDetail.as_view(), name="tmf622-cancel-product-order-detail"),
]

urlpatterns = [
    path("api/v1/", include(router.urls)),
    path("tmf-api/productOrderingManagement/v4/", include(tmf622_patterns)),
]

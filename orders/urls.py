"""Browser pages of the orders app; each views module lists its own routes."""
from .views import outbound, pool, queue, sales

app_name = "orders"

urlpatterns = [*sales.urlpatterns, *queue.urlpatterns, *pool.urlpatterns, *outbound.urlpatterns]

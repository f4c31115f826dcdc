"""Browser pages of the delivery app; each views module lists its own routes."""
from .views import dispatch, money, stock, support

app_name = "delivery"

urlpatterns = [*stock.urlpatterns, *support.urlpatterns, *money.urlpatterns, *dispatch.urlpatterns]

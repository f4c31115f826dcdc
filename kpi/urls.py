"""Browser pages of the kpi app: the dashboard and drill-down, an agent's own page, ratings, areas, rebuilds."""
from .views import areas, dashboard, ratings, rebuild

app_name = "kpi"

urlpatterns = [*dashboard.urlpatterns, *ratings.urlpatterns, *areas.urlpatterns, *rebuild.urlpatterns]

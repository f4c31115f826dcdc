"""Browser pages of the complaints app; each views module lists its own routes."""
from .views import alerts, callbacks, intake, reports, work

app_name = "complaints"

urlpatterns = [*intake.urlpatterns, *work.urlpatterns, *callbacks.urlpatterns, *alerts.urlpatterns, *reports.urlpatterns]

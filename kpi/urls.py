app_name = "kpi"
urlpatterns = []

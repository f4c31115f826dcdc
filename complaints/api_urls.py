"""The complaints REST API and the TMF621 Trouble Ticket resource."""
urlpatterns = []

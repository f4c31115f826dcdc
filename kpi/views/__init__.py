"""Browser pages of the kpi app; each views module lists its own routes."""

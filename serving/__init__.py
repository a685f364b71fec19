"""HashiraMart serving API: recommendations and forecasts from the registry's champions, app data in Postgres."""

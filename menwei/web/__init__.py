"""What every page and API shares: the app factory, access rules, errors, OpenAPI, the generic rows API."""

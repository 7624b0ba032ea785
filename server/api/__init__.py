"""HTTP controllers: each converts the request, calls a service, and returns a schema."""

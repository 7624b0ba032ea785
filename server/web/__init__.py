"""Server-rendered pages (Jinja) with a little plain JavaScript; every asset is served by the platform."""

"""HTTP routers: thin layers that parse, call ``app.core``, and answer."""

"""PostgreSQL as the index's server backend: the server's life cycle and the production topology."""

"""Build the object graph from a validated config, start and stop it in order, reload it
atomically (SIGHUP and ``POST /-/reload``)."""

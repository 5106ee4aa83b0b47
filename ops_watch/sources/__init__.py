"""Sources: one module per transport, each yielding records of one kind. They never evaluate rules."""

"""The transactional outbox: every live case event leaves the service at least once, in order per case."""

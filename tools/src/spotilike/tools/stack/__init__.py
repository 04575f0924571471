"""The local infrastructure: PostgreSQL primary + replica, Valkey, Kafka, object storage."""

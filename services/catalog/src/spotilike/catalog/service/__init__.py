"""The use cases of the catalog service."""

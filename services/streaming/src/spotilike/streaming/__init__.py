"""The streaming service: who may play what, and the bytes of it."""

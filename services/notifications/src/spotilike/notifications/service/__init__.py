"""The notification service's use cases."""

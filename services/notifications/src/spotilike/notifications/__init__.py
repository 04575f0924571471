"""Spotilike notification service: the email queue, templates and providers."""

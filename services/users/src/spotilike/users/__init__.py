"""The users service: identity for the whole platform."""

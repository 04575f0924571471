"""The use cases of the audio service."""

"""The whole local platform: its processes, their supervisor, `spotilike up/down/status`."""

"""Spotilike gateway: the single entry point (routing, JWT, rate limits, CORS, breakers,
retries, streaming and WebSocket proxying, the web player's files)."""

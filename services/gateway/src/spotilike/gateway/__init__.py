"""Spotilike gateway: the single entry point (routing, JWT, rate limits, CORS, breakers, retries)."""

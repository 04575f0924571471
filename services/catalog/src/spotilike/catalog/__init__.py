"""The catalog service: artists, albums, tracks and genres."""

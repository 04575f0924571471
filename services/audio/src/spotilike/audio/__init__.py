"""The audio service: uploads and the pipeline that makes them playable."""

"""The use cases of the users service: what the API and the consumers call."""

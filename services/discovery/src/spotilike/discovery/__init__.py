"""Spotilike discovery service: a service registry speaking Eureka's REST API."""

"""Real OAuth providers the users service's tests sign in against."""

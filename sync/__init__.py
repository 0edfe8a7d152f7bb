"""The inbox of accepted webhook events, their processing state, and their application."""

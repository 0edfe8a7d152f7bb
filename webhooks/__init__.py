"""Webhook intake from Min Side: signing, normalisation and the receiving endpoint."""

"""Demo municipality: users, offices and cases produced by the deployed models (``kim demo``).

Not a use case of the product, so not a service: it drives the services like a user would.
"""

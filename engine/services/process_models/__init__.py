"""Process models: deploy, check, draft, publish, withdraw, compare versions, edit forms, migrate cases.

What process owners do. Uploaded models are untrusted code: only the hardened parser and
the sandbox's compiler ever see them here.
"""

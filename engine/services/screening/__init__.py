"""Residence-path screening and DMN decisions (DOMAIN.md sections 5 and 9)."""

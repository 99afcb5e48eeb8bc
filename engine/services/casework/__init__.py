"""Case work: open and read cases, consents, the inbox, completing tasks.

What a caseworker does all day. Every read and write of a case is audited; need to know
(DOMAIN.md section 7) is decided in :mod:`engine.domain.visibility` and enforced here.
"""

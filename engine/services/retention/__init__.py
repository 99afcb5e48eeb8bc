"""Retention and deletion (DOMAIN.md section 10) and a person's data on request (GDPR Art. 15).

- :mod:`.policy`: when a closed case's content is due for deletion (N years after the end of
  the year of closure, ``KIM_RETENTION_YEARS``, default 3).
- :mod:`.erasure`: what deleting a case's content means - personal content goes, the anonymous
  facts the indicators count stay, audit entries keep their hashes but lose their details.
- :mod:`.runs`: the deletion run (dry run, one transaction per case, audited), used by
  ``kim retention run`` and the scheduler's daily job.
- :mod:`.legal_hold`: a hold (lawsuit, hardship petition) keeps a case's content; admins only.
- :mod:`.person_export`: everything held about a person, as JSON, for an admin (GDPR Art. 15).
"""

"""The claims of Nguyen, Mondelli & Montufar (ICML 2021) as pytest tests (one module per numbered claim).

In the repository this is the top-level ``claims/`` folder that ``pytest claims/`` runs; the wheel ships the
same files as the package ``ntkcheck_claims`` (``pytest --pyargs ntkcheck_claims``, or ``ntkcheck verify`` from
any folder), with the full-profile baseline that ``ntkcheck compare --baseline full`` reads. Seeds derive from
each test's path inside this package (``ntkcheck.plugin.claim_identity``), so both draw the same numbers.
"""

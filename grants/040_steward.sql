-- The PII steward reads the stream tables (to find the surrogates) and the
-- rejects (to investigate them); the stream tables of the configured streams
-- are granted by `init` from their definitions (ddlgen), after this file. It
-- never reads sensitive_* directly: a value is revealed only through the
-- procedure pii_reveal (EXECUTE granted by `init` once it has created it),
-- which logs every call in pii_access_log. The steward reads that log and the
-- erasures but cannot change them; the analyst gets nothing of either.
GRANT SELECT ON `{{db}}`.load_rejects TO {{steward_role}};
GRANT SELECT ON `{{db}}`.pii_access_log TO {{steward_role}};
GRANT SELECT ON `{{db}}`.pii_erasures TO {{steward_role}};

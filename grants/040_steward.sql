-- The PII steward recovers values behind surrogates (sensitive_*), and reads
-- the stream tables to find the surrogates and the rejects to investigate
-- them. The sensitive tables of the surrogate kinds in use and the stream
-- tables of the configured streams are granted by `init` from their
-- definitions (ddlgen), after this file.
GRANT SELECT ON `{{db}}`.load_rejects TO {{steward_role}};

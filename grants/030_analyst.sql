-- The analyst reads an explicit allow-list: the stream tables (PII removed or
-- replaced by surrogates) and the run audit. The stream tables of the
-- configured streams are granted by `init` from their definitions (ddlgen),
-- after this file; monitoring (monitor_*) and analysis (analysis_*) views one
-- by one as it installs them. Nothing on sensitive_* or load_rejects; nothing
-- to PUBLIC.
GRANT SELECT ON `{{db}}`.load_runs TO {{analyst_role}};
GRANT SELECT ON `{{db}}`.load_run_streams TO {{analyst_role}};

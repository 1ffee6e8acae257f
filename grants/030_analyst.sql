-- The analyst reads an explicit allow-list: the raw tables (PII removed or
-- replaced by surrogates) and the run audit. Monitoring (monitor_*) and
-- analysis (analysis_*) views are granted one by one by `init` as it installs
-- them. Nothing on sensitive_* or load_rejects; nothing to PUBLIC.
GRANT SELECT ON `{{db}}`.users_raw TO {{analyst_role}};
GRANT SELECT ON `{{db}}`.subscriptions_raw TO {{analyst_role}};
GRANT SELECT ON `{{db}}`.messages_raw TO {{analyst_role}};
GRANT SELECT ON `{{db}}`.user_logins TO {{analyst_role}};
GRANT SELECT ON `{{db}}`.load_runs TO {{analyst_role}};
GRANT SELECT ON `{{db}}`.load_run_streams TO {{analyst_role}};

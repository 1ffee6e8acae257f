-- The PII steward recovers values behind surrogates (sensitive_*), and reads
-- the raw tables to find the surrogates and the rejects to investigate them.
GRANT SELECT ON `{{db}}`.sensitive_city_ids TO {{steward_role}};
GRANT SELECT ON `{{db}}`.sensitive_zipcode_ids TO {{steward_role}};
GRANT SELECT ON `{{db}}`.sensitive_profession_ids TO {{steward_role}};
GRANT SELECT ON `{{db}}`.sensitive_ip_ids TO {{steward_role}};
GRANT SELECT ON `{{db}}`.sensitive_device_ids TO {{steward_role}};
GRANT SELECT ON `{{db}}`.users_raw TO {{steward_role}};
GRANT SELECT ON `{{db}}`.subscriptions_raw TO {{steward_role}};
GRANT SELECT ON `{{db}}`.messages_raw TO {{steward_role}};
GRANT SELECT ON `{{db}}`.user_logins TO {{steward_role}};
GRANT SELECT ON `{{db}}`.load_rejects TO {{steward_role}};

-- Roles. Double-brace placeholders are filled from the configuration's `roles`
-- and `warehouse.database` (validated identifiers) by `maskload init`.
CREATE ROLE IF NOT EXISTS {{loader_role}};
CREATE ROLE IF NOT EXISTS {{analyst_role}};
CREATE ROLE IF NOT EXISTS {{steward_role}};

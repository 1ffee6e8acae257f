-- The loader writes every table of the warehouse, including the sensitive
-- maps, but needs no DDL rights: `init` runs as the admin.
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE TEMPORARY TABLES ON `{{db}}`.* TO {{loader_role}};

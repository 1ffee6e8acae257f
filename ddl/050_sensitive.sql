-- sensitive_<kind>_ids: surrogate -> value maps. Readable by the loader and the
-- steward only. digest = HMAC-SHA256(key, kind || 0x00 || normalised value), or
-- SHA-256 of the same bytes when no key is configured; binary uniqueness whatever
-- the collation ('Muller' and 'Müller' get different ids).
CREATE TABLE IF NOT EXISTS sensitive_city_ids (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  digest         BINARY(32)      NOT NULL,
  value          MEDIUMTEXT      NOT NULL,
  first_seen_at  DATETIME(3)     NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_digest (digest)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='PII: city';

CREATE TABLE IF NOT EXISTS sensitive_zipcode_ids LIKE sensitive_city_ids;
ALTER TABLE sensitive_zipcode_ids COMMENT='PII: zip code';
CREATE TABLE IF NOT EXISTS sensitive_profession_ids LIKE sensitive_city_ids;
ALTER TABLE sensitive_profession_ids COMMENT='PII: profession';
CREATE TABLE IF NOT EXISTS sensitive_ip_ids LIKE sensitive_city_ids;
ALTER TABLE sensitive_ip_ids COMMENT='PII: ip address';
CREATE TABLE IF NOT EXISTS sensitive_device_ids LIKE sensitive_city_ids;
ALTER TABLE sensitive_device_ids COMMENT='PII: device id';

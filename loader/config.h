/* config.h - maskload's configuration, read from YAML (libyaml).
 *
 * The only module that sees libyaml. config_load() fills a struct config that
 * owns every string it holds; config_release() frees (and wipes the secrets
 * of) all of them. Defaults are applied for every optional key, so callers
 * never test for "unset" except where noted (NULL means absent).
 *
 * Values of the form ${VAR} (anywhere inside a scalar, several allowed) are
 * replaced from the environment; an unset variable is an error. `$$` stands for
 * a literal `$`. A key `password_file` (beside `password`) reads the secret from
 * a file (first line, trailing newline stripped).
 *
 * Errors: ML_ECONFIG with a message of the form
 *   "<file>:<line>:<column>: <what> '<key>' in '<parent path>'"
 * e.g. "maskload.yaml:12:7: unknown key 'pasword' in 'warehouse'".
 * Lines and columns are 1-based. Messages never contain secret values.
 */
#ifndef ML_CONFIG_H
#define ML_CONFIG_H

#include <stddef.h>

enum source_kind { SOURCE_HTTP = 0, SOURCE_SQS = 1, SOURCE_FILE = 2 };
/* `format` of a file source: jsonl = one record per line; json = the whole
 * file is one JSON array of records; auto = json when the file's first
 * non-space byte (after a BOM) is '[' AND the file is one array, else jsonl. */
enum file_format { FILE_FORMAT_AUTO = 0, FILE_FORMAT_JSONL = 1, FILE_FORMAT_JSON = 2 };
enum birth_date_policy { BIRTH_DATE_YEAR = 0, BIRTH_DATE_DATE = 1 };
/* `load.method`: auto = LOAD DATA LOCAL when the server allows it, else
 * multi-row INSERT (decided once per run, logged); bulk = LOAD DATA LOCAL or
 * fail; insert = multi-row INSERT only. */
enum load_method { LOAD_METHOD_AUTO = 0, LOAD_METHOD_BULK = 1, LOAD_METHOD_INSERT = 2 };
/* `load.writer`: batches written by a thread of their own while the next
 * one is mapped (thread), or in line between the pages (inline). */
enum load_writer { LOAD_WRITER_THREAD = 0, LOAD_WRITER_INLINE = 1 };

struct config_pos {
    int line;   /* 1-based, 0 when unknown */
    int column; /* 1-based */
};

struct config_source {
    char *name;            /* key under `sources` */
    enum source_kind kind; /* `kind: http|sqs|file`, default http */
    /* http */
    char *base_url;             /* required for http */
    unsigned page_size;         /* default 100, 1..10000 */
    unsigned max_pages;         /* default 1000000; cap on pages per stream */
    unsigned timeout_s;         /* `timeout`, per request, default 60 */
    unsigned connect_timeout_s; /* default 10 */
    char *ca_file;              /* optional `ca_file` for TLS verification; NULL = system */
    /* http credentials; every value here is a secret (wiped on release, never
     * echoed in a message). `headers: {Name: value}` as "Name: value" lines,
     * NULL-terminated (NULL when absent); names are HTTP token characters,
     * values hold no CR, LF or NUL. `params: {name: value}`: query parameters
     * added to every request (percent-encoded by the source). `auth: {type: bearer, token |
     * token_file}` or
     * `{type: basic, user, password | password_file}`. */
    char **headers;
    struct config_param {
        char *name;  /* as written, not "page" or "limit" */
        char *value; /* secret, as written (encoded when sent) */
    } * params;
    size_t nparams;
    struct config_auth {
        enum auth_type { AUTH_NONE = 0, AUTH_BEARER = 1, AUTH_BASIC = 2 } type;
        char *token;    /* bearer: secret */
        char *user;     /* basic: no ':' */
        char *password; /* basic: secret */
    } auth;
    /* file: `path` of a JSON Lines file (one record per line) or of a file
     * holding one JSON array; relative to the config file's directory */
    char *file_path;
    enum file_format file_format; /* `format`, default auto */
    /* http failures (see retry.h): a request that stays below low_speed_limit
     * bytes/s for low_speed_time s is aborted; transient failures are retried
     * `retries` times, waiting a jittered backoff from retry_base_ms doubling
     * up to retry_max_ms, or longer when the server's Retry-After (clamped
     * to retry_after_max s; 0 ignores it) says so. */
    unsigned low_speed_limit;   /* bytes/s, default 1, 1..1000000000 */
    unsigned low_speed_time_s;  /* `low_speed_time`, default 30, 1..86400 */
    unsigned retries;           /* default 5, 0..100 */
    unsigned retry_base_ms;     /* default 500, 1..3600000 */
    unsigned retry_max_ms;      /* default 30000, retry_base_ms..3600000 */
    unsigned retry_after_max_s; /* `retry_after_max`, default 120, 0..86400 */
    /* sqs (timeout, connect_timeout and ca_file apply too; timeout must
     * exceed wait_seconds). Credentials absent here come from the standard
     * AWS environment variables when the source opens; so does the region
     * (AWS_REGION, AWS_DEFAULT_REGION), else the queue URL's host names it. */
    char *queue_url;             /* required for sqs; http(s)://host/account/name */
    char *region;                /* NULL = environment or queue URL */
    char *endpoint;              /* NULL = the queue URL's host; else every request goes here */
    unsigned wait_seconds;       /* long poll, default 20, 0..20 */
    unsigned visibility_timeout; /* seconds, default 300, 0..43200 */
    unsigned max_messages;       /* per ReceiveMessage, default 10, 1..10 */
    char *access_key_id;         /* NULL = AWS_ACCESS_KEY_ID; set together with the secret */
    char *secret_access_key;     /* secret; NULL = AWS_SECRET_ACCESS_KEY */
    char *session_token;         /* secret; NULL = AWS_SESSION_TOKEN (only with env keys) */
    enum sqs_on_malformed {
        SQS_MALFORMED_REJECT = 0,     /* `reject` (default): load_rejects, then deleted */
        SQS_MALFORMED_DEAD_LETTER = 1 /* `dead_letter`: load_rejects, left for the redrive */
    } on_malformed;
    struct config_pos pos;
};

struct stream_def;
struct streamdef_arena;

struct config_stream {
    char *name;    /* key under `streams` */
    char *source;  /* `source`, must name an entry of `sources` */
    char *path;    /* `path` appended to the source's base_url (http); may be NULL */
    char *mapping; /* `mapping` as written: a built-in name or a file; NULL for an inline
                      mapping; the stream's name when it names a built-in itself */
    const struct stream_def *def; /* the stream's definition (streamdef.h), in config.defs */
    struct config_pos pos;
};

struct config_threshold {
    char *view; /* key under `check.thresholds`, a monitor_* view name */
    long max;   /* rows allowed before `check` fails */
    struct config_pos pos;
};

/* Database TLS (`warehouse.tls`, `admin.tls`). Contract of the modes:
 *   off             no TLS is requested (a server or account that requires it refuses us)
 *   required        TLS or no connection; the server certificate is not verified
 *   verify_ca       required + the server certificate must chain to `ca`
 *   verify_identity verify_ca + the certificate must name the host we connect to
 * The verify modes need `ca` (a config error otherwise: verifying against
 * nothing would silently verify nothing). `cert` and `key` (a client
 * certificate, for accounts with REQUIRE X509) go together. Paths are resolved
 * against the config file's directory. */
enum tls_mode { TLS_OFF = 0, TLS_REQUIRED = 1, TLS_VERIFY_CA = 2, TLS_VERIFY_IDENTITY = 3 };

struct config_tls {
    enum tls_mode mode; /* default TLS_OFF */
    char *ca;           /* CA bundle (PEM); NULL = none */
    char *cert;         /* client certificate (PEM); NULL = none */
    char *key;          /* its private key (PEM); NULL = none */
};

/* One server of `warehouse.hosts` / `admin.hosts`. */
struct config_host {
    char *host;
    unsigned port;
};

struct config_account {
    char *user;
    char *password; /* secret */
};

#define CONFIG_MAX_HOSTS 16

/* `warehouse.kind`: the server the warehouse is (db.h for mysql, pg.h for
 * postgres). */
enum warehouse_kind { WAREHOUSE_MYSQL = 0, WAREHOUSE_POSTGRES = 1 };

struct config {
    char *path; /* file the config was read from */

    struct {
        char *host;                 /* default "127.0.0.1" unless socket is set */
        unsigned port;              /* default 3306 */
        char *socket;               /* NULL = TCP */
        char *database;             /* required; [A-Za-z0-9_]{1,64} */
        char *user;                 /* required */
        char *password;             /* secret; required */
        unsigned connect_timeout_s; /* default 10 */
        /* `lock_wait_timeout`: session innodb_lock_wait_timeout, 1..86400 s;
         * 0 (the default) keeps the server's */
        unsigned lock_wait_timeout_s;
        /* `tls: {mode, ca, cert, key}` */
        struct config_tls tls;
        /* `hosts: [host:port, ...]` (instead of host/port/socket; at most
         * CONFIG_MAX_HOSTS, port default 3306, 5432 with kind postgres):
         * tried in order (conn.h; conn_pg.h: the first read-write one).
         * host/port then name the first. nhosts 0 = the single-host form. */
        struct config_host *hosts;
        size_t nhosts;
        /* `failovers`: how often a run may move to another host after losing
         * its connection, 0..1000; default the number of `hosts` (0 in the
         * single-host form: a lost connection fails the run) */
        unsigned failovers;
        /* `kind: mysql|postgres`, default mysql. With postgres: `port`
         * defaults to 5432, `socket` is the directory of the server's
         * socket, `lock_wait_timeout` is the session's lock_timeout,
         * `database` has at most 63 characters, and admin.user defaults
         * to "postgres". */
        enum warehouse_kind kind;
        /* `schema` (postgres only: a config error with mysql): the schema
         * every table, view and grant lives in; [a-z_][a-z0-9_]*, at most
         * 63 characters, not pg_*; default "maskload" (docs/postgres.md) */
        char *schema;
    } warehouse;

    struct {            /* used by `init` only; host/port/socket default to warehouse's */
        char *user;     /* default "root" */
        char *password; /* secret; may be NULL (socket auth) */
        char *host;
        unsigned port;
        char *socket;
        struct config_tls tls; /* `admin.tls`; absent = a copy of warehouse.tls */
        /* `admin.hosts`, as warehouse.hosts; absent (and no host/socket) = a
         * copy of the warehouse's */
        struct config_host *hosts;
        size_t nhosts;
    } admin;

    struct {
        char *host;                    /* host part of created accounts, default "%" */
        struct config_account analyst; /* default user "analyst" */
        struct config_account steward; /* default user "pii_steward" */
    } accounts;

    struct {
        char *loader;  /* default "maskload_<database>_loader" */
        char *analyst; /* default "maskload_<database>_analyst" */
        char *steward; /* default "maskload_<database>_steward" */
    } roles;

    struct {
        unsigned char *digest_key; /* secret; `pii.digest_key`, NULL = plain SHA-256 */
        size_t digest_key_len;
        enum birth_date_policy birth_date; /* `pii.birth_date: year|date`, default year */
        /* `pii.digest: hmac-sha256|sha256`, default hmac-sha256 (a key is then
         * required by init, run and rekey: config_require_digest_key); a key
         * with `sha256` is a config error */
        enum pii_digest_mode { PII_DIGEST_HMAC = 0, PII_DIGEST_SHA256 = 1 } digest;
        struct config_pos pos; /* of the `pii` key; line 0 when there is none */
    } pii;

    struct {
        unsigned batch_size;         /* `load.batch_size`, default 1000, 1..100000 */
        unsigned surrogate_cache;    /* `load.surrogate_cache`, entries per kind, default 100000 */
        enum load_method method;     /* `load.method: auto|bulk|insert`, default auto */
        unsigned prefetch_pages;     /* `load.prefetch_pages`, pages fetched ahead by a
                                        background thread, 0..64, default 4; 0 = none */
        unsigned heartbeat_interval; /* `load.heartbeat_interval`, seconds between renewals
                                        of a run's lease (lease.h), 1..3600, default 10 */
        enum load_writer writer;     /* `load.writer: thread|inline`, default thread */
        /* `load.parallel_streams`, 1..16, default 1: streams loaded at the same
         * time, each on connections and threads of its own (load.c); streams
         * sharing a table or a surrogate kind still run one after the other */
        unsigned parallel_streams;
    } load;

    struct {
        long default_max;                    /* `check.default_threshold`, default 0 */
        struct config_threshold *thresholds; /* `check.thresholds: {view: n}` */
        size_t nthresholds;
    } check;

    char *log_level; /* `log.level`, default "info" */
    /* `log.progress_interval`: seconds between a stream's progress lines
     * when stderr is not a terminal (progress.h), 0 = none; default 10 */
    unsigned log_progress_interval;

    struct config_source *sources; /* in file order */
    size_t nsources;
    struct config_stream *streams; /* in file order */
    size_t nstreams;
    struct streamdef_arena *defs; /* owns every stream's definition */
};

/* Reads and validates `path`. On failure returns ML_ECONFIG (or ML_ENOMEM)
 * with err_msg() set, and `cfg` holds nothing that needs releasing. */
int config_load(struct config *cfg, const char *path);

/* Same, from a string; `name` is used in messages as the file name. */
int config_parse(struct config *cfg, const char *text, size_t len, const char *name);

/* Where the warehouse's tables live, as every statement qualifies them: the
 * schema (kind postgres: warehouse.schema, "maskload" unless configured) or
 * the database (kind mysql: warehouse.database). */
const char *config_warehouse_space(const struct config *cfg);

/* The surrogate digest key policy, for the commands that compute digests
 * (init, run, rekey): 0 when a key is configured; 0 with a warning logged
 * when `pii.digest: sha256` says explicitly that digests are unkeyed;
 * otherwise ML_ECONFIG "<file>:<line>:<col>: ..." (the `pii` key, or 1:1 of
 * the file when there is none) naming pii.digest_key_file and saying how to
 * make a key. */
int config_require_digest_key(const struct config *cfg, const char *cmd);

/* Reads a digest key file as `pii.digest_key_file` is read: its first line,
 * as raw bytes (no hex decoding), without the line's \n or \r\n; empty is
 * an error. *key is malloc'd: the caller wipes and frees it. `what` names
 * the file in messages (e.g. "--new-key-file"). ML_ECONFIG or ML_ENOMEM. */
int config_read_key_file(const char *path, const char *what, unsigned char **key, size_t *len);

/* Frees every string; wipes passwords and the digest key first. */
void config_release(struct config *cfg);

/* Lookups; NULL when absent. */
const struct config_source *config_find_source(const struct config *cfg, const char *name);
const struct config_stream *config_find_stream(const struct config *cfg, const char *name);

/* The threshold for a view: its entry in check.thresholds, else default_max. */
long config_threshold_for(const struct config *cfg, const char *view);

#endif

/* test_config.c - unit tests of the config module (YAML parsing, defaults,
 * ${VAR} substitution, secrets from files, and every class of config error
 * with its exact message and position). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_int.h"
#include "error.h"
#include "banned.h"

#define MINIMAL                                                                                    \
    "warehouse:\n"                                                                                 \
    "  database: spark_dwh\n"                                                                      \
    "  user: maskload_loader\n"                                                                    \
    "  password: pw\n"

static int parse(struct config *c, const char *text)
{
    return config_parse(c, text, strlen(text), "t.yaml");
}

static int is_zeroed(const struct config *c)
{
    const unsigned char *b = (const unsigned char *)c;
    for (size_t i = 0; i < sizeof(*c); i++)
        if (b[i])
            return 0;
    return 1;
}

/* Parses `text`, expects ML_ECONFIG with exactly `msg`, and a zeroed struct. */
static void expect_error(const char *text, const char *msg)
{
    struct config c;
    memset(&c, 0xa5, sizeof(c));
    int rc = parse(&c, text);
    assert_int_equal(rc, ML_ECONFIG);
    assert_string_equal(err_msg(), msg);
    assert_true(is_zeroed(&c));
}

/* Same, but only checks that the message contains `part`. */
static void expect_error_part(const char *text, const char *part)
{
    struct config c;
    memset(&c, 0xa5, sizeof(c));
    int rc = parse(&c, text);
    assert_int_equal(rc, ML_ECONFIG);
    if (!strstr(err_msg(), part))
        fail_msg("message '%s' lacks '%s'", err_msg(), part);
    assert_true(is_zeroed(&c));
}

static void test_full_config(void **state)
{
    (void)state;
    static const char text[] = "warehouse:\n"
                               "  host: db.example.internal\n"
                               "  port: 3307\n"
                               "  socket: /run/mysqld/mysqld.sock\n"
                               "  database: spark_dwh\n"
                               "  user: maskload_loader\n"
                               "  password: wh-pass\n"
                               "  connect_timeout: 5\n"
                               "admin:\n"
                               "  user: dba.admin\n"
                               "  password: admin-pass\n"
                               "  host: admin.example\n"
                               "  port: 3308\n"
                               "  socket: /run/admin.sock\n"
                               "accounts:\n"
                               "  host: '10.0.%'\n"
                               "  analyst: { user: analyst_1, password: an-pass }\n"
                               "  steward: { user: steward-1, password: st-pass }\n"
                               "roles:\n"
                               "  loader: r_loader\n"
                               "  analyst: r_analyst\n"
                               "  steward: r_steward\n"
                               "pii:\n"
                               "  digest_key: \"k3y\\0x\"\n"
                               "  birth_date: date\n"
                               "load:\n"
                               "  batch_size: 500\n"
                               "  surrogate_cache: 0\n"
                               "check:\n"
                               "  default_threshold: 5\n"
                               "  thresholds:\n"
                               "    monitor_subscription_anomalies: 0\n"
                               "    monitor_anomalous_messages: 12\n"
                               "log:\n"
                               "  level: debug\n"
                               "sources:\n"
                               "  api:\n"
                               "    kind: http\n"
                               "    base_url: https://api.example.com/v1\n"
                               "    page_size: 50\n"
                               "    max_pages: 7\n"
                               "    timeout: 30\n"
                               "    connect_timeout: 3\n"
                               "    ca_file: /etc/ssl/ca.pem\n"
                               "  queue:\n"
                               "    kind: sqs\n"
                               "    queue_url: http://127.0.0.1:9324/000000000000/logins\n"
                               "    region: eu-west-1\n"
                               "    endpoint: http://127.0.0.1:9324\n"
                               "    wait_seconds: 20\n"
                               "    visibility_timeout: 30\n"
                               "    access_key_id: AKID\n"
                               "    secret_access_key: SAK\n"
                               "    session_token: TOK\n"
                               "    max_messages: 10\n"
                               "    on_malformed: reject\n"
                               "    timeout: 25\n"
                               "  local:\n"
                               "    kind: file\n"
                               "    path: /data/users.json\n"
                               "streams:\n"
                               "  users: { source: api, path: /users }\n"
                               "  msgs: { source: api, path: /messages, mapping: messages }\n"
                               "  logins: { source: queue, mapping: user_logins }\n";
    struct config c;
    assert_int_equal(parse(&c, text), 0);

    assert_string_equal(c.path, "t.yaml");
    assert_string_equal(c.warehouse.host, "db.example.internal");
    assert_int_equal(c.warehouse.port, 3307);
    assert_string_equal(c.warehouse.socket, "/run/mysqld/mysqld.sock");
    assert_string_equal(c.warehouse.database, "spark_dwh");
    assert_string_equal(c.warehouse.user, "maskload_loader");
    assert_string_equal(c.warehouse.password, "wh-pass");
    assert_int_equal(c.warehouse.connect_timeout_s, 5);

    assert_string_equal(c.admin.user, "dba.admin");
    assert_string_equal(c.admin.password, "admin-pass");
    assert_string_equal(c.admin.host, "admin.example");
    assert_int_equal(c.admin.port, 3308);
    assert_string_equal(c.admin.socket, "/run/admin.sock");

    assert_string_equal(c.accounts.host, "10.0.%");
    assert_string_equal(c.accounts.analyst.user, "analyst_1");
    assert_string_equal(c.accounts.analyst.password, "an-pass");
    assert_string_equal(c.accounts.steward.user, "steward-1");
    assert_string_equal(c.accounts.steward.password, "st-pass");

    assert_string_equal(c.roles.loader, "r_loader");
    assert_string_equal(c.roles.analyst, "r_analyst");
    assert_string_equal(c.roles.steward, "r_steward");

    assert_int_equal(c.pii.digest_key_len, 5);
    assert_memory_equal(c.pii.digest_key, "k3y\0x", 5);
    assert_int_equal(c.pii.birth_date, BIRTH_DATE_DATE);

    assert_int_equal(c.load.batch_size, 500);
    assert_int_equal(c.load.surrogate_cache, 0);

    assert_int_equal(c.check.default_max, 5);
    assert_int_equal(c.check.nthresholds, 2);
    assert_string_equal(c.check.thresholds[0].view, "monitor_subscription_anomalies");
    assert_int_equal(c.check.thresholds[0].max, 0);
    assert_int_equal(c.check.thresholds[0].pos.line, 32);
    assert_int_equal(c.check.thresholds[0].pos.column, 5);
    assert_string_equal(c.check.thresholds[1].view, "monitor_anomalous_messages");
    assert_int_equal(c.check.thresholds[1].max, 12);

    assert_string_equal(c.log_level, "debug");

    assert_int_equal(c.nsources, 3);
    const struct config_source *api = &c.sources[0];
    assert_string_equal(api->name, "api");
    assert_int_equal(api->kind, SOURCE_HTTP);
    assert_string_equal(api->base_url, "https://api.example.com/v1");
    assert_int_equal(api->page_size, 50);
    assert_int_equal(api->max_pages, 7);
    assert_int_equal(api->timeout_s, 30);
    assert_int_equal(api->connect_timeout_s, 3);
    assert_string_equal(api->ca_file, "/etc/ssl/ca.pem");
    assert_int_equal(api->pos.line, 37);
    assert_int_equal(api->pos.column, 3);
    assert_string_equal(c.sources[1].name, "queue");
    assert_int_equal(c.sources[1].kind, SOURCE_SQS);
    assert_null(c.sources[1].base_url);
    assert_int_equal(c.sources[1].timeout_s, 25);
    assert_string_equal(c.sources[2].name, "local");
    assert_int_equal(c.sources[2].kind, SOURCE_FILE);

    assert_int_equal(c.nstreams, 3);
    assert_string_equal(c.streams[0].name, "users");
    assert_string_equal(c.streams[0].source, "api");
    assert_string_equal(c.streams[0].path, "/users");
    assert_string_equal(c.streams[0].mapping, "users");
    assert_int_equal(c.streams[0].pos.line, 62);
    assert_int_equal(c.streams[0].pos.column, 3);
    assert_string_equal(c.streams[1].name, "msgs");
    assert_string_equal(c.streams[1].path, "/messages");
    assert_string_equal(c.streams[1].mapping, "messages");
    assert_string_equal(c.streams[2].source, "queue");
    assert_null(c.streams[2].path);
    assert_string_equal(c.streams[2].mapping, "user_logins");

    /* lookups */
    assert_ptr_equal(config_find_source(&c, "queue"), &c.sources[1]);
    assert_null(config_find_source(&c, "nope"));
    assert_ptr_equal(config_find_stream(&c, "msgs"), &c.streams[1]);
    assert_null(config_find_stream(&c, "messages"));
    assert_int_equal(config_threshold_for(&c, "monitor_anomalous_messages"), 12);
    assert_int_equal(config_threshold_for(&c, "monitor_subscription_anomalies"), 0);
    assert_int_equal(config_threshold_for(&c, "monitor_other"), 5);

    config_release(&c);
    assert_true(is_zeroed(&c));
}

static void test_defaults(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(parse(&c, MINIMAL), 0);
    assert_string_equal(c.warehouse.host, "127.0.0.1");
    assert_int_equal(c.warehouse.port, 3306);
    assert_null(c.warehouse.socket);
    assert_int_equal(c.warehouse.connect_timeout_s, 10);
    assert_string_equal(c.admin.user, "root");
    assert_null(c.admin.password);
    assert_string_equal(c.admin.host, "127.0.0.1");
    assert_int_equal(c.admin.port, 3306);
    assert_null(c.admin.socket);
    assert_string_equal(c.accounts.host, "%");
    assert_string_equal(c.accounts.analyst.user, "analyst");
    assert_null(c.accounts.analyst.password);
    assert_string_equal(c.accounts.steward.user, "pii_steward");
    assert_null(c.accounts.steward.password);
    assert_string_equal(c.roles.loader, "maskload_spark_dwh_loader");
    assert_string_equal(c.roles.analyst, "maskload_spark_dwh_analyst");
    assert_string_equal(c.roles.steward, "maskload_spark_dwh_steward");
    assert_null(c.pii.digest_key);
    assert_int_equal(c.pii.digest_key_len, 0);
    assert_int_equal(c.pii.birth_date, BIRTH_DATE_YEAR);
    assert_int_equal(c.load.batch_size, 1000);
    assert_int_equal(c.load.surrogate_cache, 100000);
    assert_int_equal(c.load.method, LOAD_METHOD_AUTO);
    assert_int_equal(c.load.prefetch_pages, 4);
    assert_int_equal(c.load.writer, LOAD_WRITER_THREAD);
    assert_int_equal(c.load.parallel_streams, 1);
    assert_int_equal(c.check.default_max, 0);
    assert_int_equal(c.check.nthresholds, 0);
    assert_int_equal(config_threshold_for(&c, "monitor_x"), 0);
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.nsources, 0);
    assert_int_equal(c.nstreams, 0);
    config_release(&c);

    /* source defaults, and empty (null) sections */
    assert_int_equal(parse(&c, MINIMAL "admin:\nlog:\n"
                                       "sources:\n  api: { base_url: 'http://h:1/x' }\n"
                                       "streams:\n  messages: { source: api }\n"),
                     0);
    assert_string_equal(c.admin.user, "root");
    assert_string_equal(c.log_level, "info");
    assert_int_equal(c.sources[0].kind, SOURCE_HTTP);
    assert_int_equal(c.sources[0].page_size, 100);
    assert_int_equal(c.sources[0].max_pages, 1000000);
    assert_int_equal(c.sources[0].timeout_s, 60);
    assert_int_equal(c.sources[0].connect_timeout_s, 10);
    assert_null(c.sources[0].ca_file);
    assert_null(c.streams[0].path);
    assert_string_equal(c.streams[0].mapping, "messages");
    config_release(&c);
}

static void test_socket_defaults(void **state)
{
    (void)state;
    struct config c;
    /* no default host with a socket; admin inherits the whole endpoint */
    assert_int_equal(parse(&c, MINIMAL "  socket: /run/db.sock\n  port: 3310\n"), 0);
    assert_null(c.warehouse.host);
    assert_string_equal(c.warehouse.socket, "/run/db.sock");
    assert_null(c.admin.host);
    assert_string_equal(c.admin.socket, "/run/db.sock");
    assert_int_equal(c.admin.port, 3310);
    config_release(&c);

    /* an admin host replaces the warehouse endpoint: no inherited socket */
    assert_int_equal(parse(&c, MINIMAL "  socket: /run/db.sock\nadmin:\n  host: adm\n"), 0);
    assert_string_equal(c.admin.host, "adm");
    assert_null(c.admin.socket);
    config_release(&c);
}

static void test_env_substitution(void **state)
{
    (void)state;
    struct config c;
    setenv("ML_T_USER", "loader", 1);
    setenv("ML_T_PW", "p@ss", 1);
    setenv("ML_T_EMPTY", "", 1);
    setenv("ML_T_PORT", "3399", 1);
    assert_int_equal(parse(&c, "warehouse:\n"
                               "  database: db_${ML_T_USER}\n"
                               "  user: ${ML_T_USER}\n"
                               "  password: a${ML_T_PW}-${ML_T_USER}$$x$y$${ML_T_PW}"
                               "${ML_T_EMPTY}$\n"
                               "  port: ${ML_T_PORT}\n"),
                     0);
    assert_string_equal(c.warehouse.database, "db_loader");
    assert_string_equal(c.warehouse.user, "loader");
    assert_string_equal(c.warehouse.password, "ap@ss-loader$x$y${ML_T_PW}$");
    assert_int_equal(c.warehouse.port, 3399);
    config_release(&c);

    /* an empty value is allowed */
    assert_int_equal(parse(&c, "warehouse:\n  database: d\n  user: u\n  password: ${ML_T_EMPTY}\n"),
                     0);
    assert_string_equal(c.warehouse.password, "");
    config_release(&c);

    /* unterminated ${ */
    expect_error("warehouse:\n  database: d\n  user: u\n  password: x${ML_T_PW\n",
                 "t.yaml:4:13: unterminated '${' in 'warehouse.password' "
                 "(write '$$' for a literal '$')");
    unsetenv("ML_T_USER");
    unsetenv("ML_T_PW");
    unsetenv("ML_T_EMPTY");
    unsetenv("ML_T_PORT");
}

static void test_env_unset(void **state)
{
    (void)state;
    unsetenv("ML_T_UNSET_VAR");
    expect_error("warehouse:\n"
                 "  password: ${ML_T_UNSET_VAR}\n"
                 "  database: d\n"
                 "  user: u\n",
                 "t.yaml:2:13: environment variable 'ML_T_UNSET_VAR' is not set "
                 "(in 'warehouse.password')");
    /* also deep inside a value */
    expect_error_part(MINIMAL "sources:\n  api:\n    base_url: http://h/${ML_T_UNSET_VAR}\n",
                      "t.yaml:7:15: environment variable 'ML_T_UNSET_VAR' is not set "
                      "(in 'sources.api.base_url')");
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_error("warehouse:\n"
                 "  database: d\n"
                 "  pasword: x\n"
                 "  user: u\n",
                 "t.yaml:3:3: unknown key 'pasword' in 'warehouse' (did you mean 'password'?)");
    expect_error(MINIMAL "\nfoo: 1\n", "t.yaml:6:1: unknown key 'foo' at top level");
    expect_error(MINIMAL "accounts:\n  analyst: { user: a, pass: b }\n",
                 "t.yaml:6:23: unknown key 'pass' in 'accounts.analyst'");
    expect_error(MINIMAL "sources:\n  api: { base_url: 'http://h', queue: x }\n",
                 "t.yaml:6:32: unknown key 'queue' in 'sources.api'");
    /* a key of another kind of source */
    expect_error(MINIMAL "sources:\n  q: { kind: sqs, base_url: 'http://h' }\n",
                 "t.yaml:6:19: unknown key 'base_url' in 'sources.q' for kind 'sqs'");
    expect_error(MINIMAL "streams:\n  users: { source: a, tabel: x }\n",
                 "t.yaml:6:23: unknown key 'tabel' in 'streams.users' (did you mean 'table'?)");
    /* swapped neighbours count one edit; a key far from every name gets no guess */
    expect_error(MINIMAL "load: { bacth_size: 5 }\n",
                 "t.yaml:5:9: unknown key 'bacth_size' in 'load' (did you mean 'batch_size'?)");
    expect_error(MINIMAL "load: { size: 5 }\n", "t.yaml:5:9: unknown key 'size' in 'load'");
    {
        static const char *const names[] = {"batch_size", "method", "prefetch_pages"};
        assert_string_equal(cfg_nearest("metod", names, 3), "method");
        assert_string_equal(cfg_nearest("prefetch_page", names, 3), "prefetch_pages");
        assert_null(cfg_nearest("mode", names, 3)); /* 2 edits for a 4-byte key: too far */
        assert_string_equal(cfg_nearest("patch_sizes", names, 3), "batch_size"); /* 2 edits */
        assert_null(cfg_nearest("xyz", names, 3));
    }
}

static void test_duplicate_key(void **state)
{
    (void)state;
    expect_error("warehouse:\n"
                 "  database: d\n"
                 "  user: u\n"
                 "  password: p\n"
                 "  user: v\n",
                 "t.yaml:5:3: duplicate key 'user' in 'warehouse'");
    expect_error(MINIMAL "log: {}\nlog: {}\n", "t.yaml:6:1: duplicate key 'log' at top level");
    expect_error(MINIMAL "check:\n  thresholds: { monitor_a: 1, monitor_a: 2 }\n",
                 "t.yaml:6:31: duplicate key 'monitor_a' in 'check.thresholds'");
}

static void test_bad_integer(void **state)
{
    (void)state;
    expect_error(MINIMAL "load:\n  batch_size: abc\n",
                 "t.yaml:6:15: 'abc' is not an integer for 'load.batch_size'");
    expect_error(MINIMAL "load:\n  batch_size: 0x10\n",
                 "t.yaml:6:15: '0x10' is not an integer for 'load.batch_size'");
    expect_error(MINIMAL "load:\n  batch_size: 1.5\n",
                 "t.yaml:6:15: '1.5' is not an integer for 'load.batch_size'");
    expect_error(MINIMAL "  port: ''\n", "t.yaml:5:9: '' is not an integer for 'warehouse.port'");
    expect_error(MINIMAL "check:\n  thresholds:\n    monitor_a: many\n",
                 "t.yaml:7:16: 'many' is not an integer for 'check.thresholds.monitor_a'");
}

static void test_out_of_range(void **state)
{
    (void)state;
    struct config c;
    expect_error(MINIMAL "load:\n  batch_size: 0\n",
                 "t.yaml:6:15: '0' is out of range for 'load.batch_size' (1..100000)");
    expect_error(MINIMAL "load:\n  batch_size: 100001\n",
                 "t.yaml:6:15: '100001' is out of range for 'load.batch_size' (1..100000)");
    expect_error(MINIMAL "load:\n  batch_size: -5\n",
                 "t.yaml:6:15: '-5' is out of range for 'load.batch_size' (1..100000)");
    expect_error(MINIMAL "load:\n  batch_size: 99999999999999999999999\n",
                 "t.yaml:6:15: '99999999999999999999999' is out of range for 'load.batch_size' "
                 "(1..100000)");
    expect_error(MINIMAL "  port: 65536\n",
                 "t.yaml:5:9: '65536' is out of range for 'warehouse.port' (1..65535)");
    expect_error(MINIMAL "check:\n  default_threshold: -1\n",
                 "t.yaml:6:22: '-1' is out of range for 'check.default_threshold' "
                 "(must be at least 0)");
    expect_error(MINIMAL "sources:\n  a: { base_url: 'http://h', page_size: 10001 }\n",
                 "t.yaml:6:41: '10001' is out of range for 'sources.a.page_size' (1..10000)");
    /* the bounds themselves are accepted */
    assert_int_equal(parse(&c, MINIMAL "load:\n  batch_size: 100000\n  surrogate_cache: "
                                       "10000000\n"),
                     0);
    assert_int_equal(c.load.batch_size, 100000);
    assert_int_equal(c.load.surrogate_cache, 10000000);
    config_release(&c);
    assert_int_equal(parse(&c, MINIMAL "load:\n  method: insert\n  prefetch_pages: 0\n"), 0);
    assert_int_equal(c.load.method, LOAD_METHOD_INSERT);
    assert_int_equal(c.load.prefetch_pages, 0);
    config_release(&c);
    assert_int_equal(parse(&c, MINIMAL "load:\n  method: bulk\n  prefetch_pages: 64\n"), 0);
    assert_int_equal(c.load.method, LOAD_METHOD_BULK);
    assert_int_equal(c.load.prefetch_pages, 64);
    config_release(&c);
    assert_int_equal(parse(&c, MINIMAL "load:\n  writer: inline\n"), 0);
    assert_int_equal(c.load.writer, LOAD_WRITER_INLINE);
    config_release(&c);
    assert_int_equal(parse(&c, MINIMAL "load:\n  writer: thread\n"), 0);
    assert_int_equal(c.load.writer, LOAD_WRITER_THREAD);
    config_release(&c);
}

static void test_bad_identifier(void **state)
{
    (void)state;
    expect_error("warehouse:\n  database: spark-dwh;drop\n  user: u\n  password: p\n",
                 "t.yaml:2:13: 'spark-dwh;drop' is not a valid name for 'warehouse.database': "
                 "use 1..64 characters from [A-Za-z0-9_]");
    expect_error(MINIMAL "accounts:\n  analyst: { user: \"ana lyst\" }\n",
                 "t.yaml:6:20: 'ana...' is not a valid user name for 'accounts.analyst.user': "
                 "use 1..80 characters from [A-Za-z0-9_.-]");
    expect_error(MINIMAL "accounts:\n  host: \"evil'host\"\n",
                 "t.yaml:6:9: 'evil'host' is not a valid host for 'accounts.host': "
                 "use 1..255 characters from [A-Za-z0-9_.%:-]");
    expect_error(MINIMAL "roles:\n  analyst: \"r\\nx\"\n",
                 "t.yaml:6:12: 'r...' is not a valid name for 'roles.analyst': "
                 "use 1..64 characters from [A-Za-z0-9_]");
    expect_error(MINIMAL "check:\n  thresholds: { 'monitor x': 1 }\n",
                 "t.yaml:6:17: 'monitor...' is not a valid name for a key in 'check.thresholds': "
                 "use 1..64 characters from [A-Za-z0-9_]");
    /* 65 characters is one too many */
    expect_error_part("warehouse:\n  database: "
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                      "  user: u\n  password: p\n",
                      "is not a valid name for 'warehouse.database'");
    /* a name taken from the environment is not echoed */
    setenv("ML_T_BADNAME", "bad name", 1);
    expect_error("warehouse:\n  database: ${ML_T_BADNAME}\n  user: u\n  password: p\n",
                 "t.yaml:2:13: the value from the environment is not a valid name for "
                 "'warehouse.database': use 1..64 characters from [A-Za-z0-9_]");
    unsetenv("ML_T_BADNAME");
}

static void test_enums(void **state)
{
    (void)state;
    expect_error(MINIMAL "log:\n  level: verbose\n",
                 "t.yaml:6:10: 'verbose' is not a valid value for 'log.level': "
                 "use error, warn, info or debug");
    expect_error(MINIMAL "pii:\n  birth_date: month\n",
                 "t.yaml:6:15: 'month' is not a valid value for 'pii.birth_date': "
                 "use year or date");
    expect_error(MINIMAL "load:\n  writer: threads\n",
                 "t.yaml:6:11: 'threads' is not a valid value for 'load.writer': "
                 "use thread or inline");
    expect_error(MINIMAL "load:\n  method: copy\n",
                 "t.yaml:6:11: 'copy' is not a valid value for 'load.method': "
                 "use auto, bulk or insert");
    expect_error(MINIMAL "load:\n  prefetch_pages: 65\n",
                 "t.yaml:6:19: '65' is out of range for 'load.prefetch_pages' (0..64)");
    expect_error(MINIMAL "load:\n  parallel_streams: 0\n",
                 "t.yaml:6:21: '0' is out of range for 'load.parallel_streams' (1..16)");
    expect_error(MINIMAL "sources:\n  a: { kind: ftp }\n",
                 "t.yaml:6:14: 'ftp' is not a valid value for 'sources.a.kind': "
                 "use http, sqs or file");
    expect_error(MINIMAL "sources:\n  a: { base_url: 'http://h' }\n"
                         "streams:\n  users: { source: a, mapping: orders }\n",
                 "t.yaml:8:32: unknown mapping 'orders' in 'streams.users': use a built-in "
                 "(users, messages, user_logins, user_logins_masked), a file (mappings/x.yaml) or "
                 "inline columns");
    expect_error(MINIMAL "sources:\n  a: { base_url: 'http://h' }\n"
                         "streams:\n  events: { source: a }\n",
                 "t.yaml:8:3: missing mapping for 'streams.events': its name is no built-in "
                 "(users, messages, user_logins, user_logins_masked); give 'mapping' (a built-in "
                 "or a file) or "
                 "inline columns");
}

static void test_stream_unknown_source(void **state)
{
    (void)state;
    expect_error(MINIMAL "sources:\n  api: { base_url: 'http://h' }\n"
                         "streams:\n  users:\n    path: /users\n    source: apx\n",
                 "t.yaml:10:13: unknown source 'apx' in 'streams.users'");
    expect_error(MINIMAL "streams:\n  users: { path: /users }\n",
                 "t.yaml:6:3: missing required key 'source' in 'streams.users'");
}

static void test_wrong_node_type(void **state)
{
    (void)state;
    expect_error("warehouse:\n  database: { name: d }\n  user: u\n  password: p\n",
                 "t.yaml:2:13: expected a scalar for 'warehouse.database', got a mapping");
    expect_error(MINIMAL "  port: [1, 2]\n",
                 "t.yaml:5:9: expected a scalar for 'warehouse.port', got a sequence");
    expect_error(MINIMAL "load: 5\n", "t.yaml:5:7: expected a mapping for 'load', got a scalar");
    expect_error(MINIMAL "sources: [a, b]\n",
                 "t.yaml:5:10: expected a mapping for 'sources', got a sequence");
    expect_error(MINIMAL "accounts:\n  analyst: analyst\n",
                 "t.yaml:6:12: expected a mapping for 'accounts.analyst', got a scalar");
    expect_error(MINIMAL "? [a]\n: 1\n",
                 "t.yaml:5:3: expected a scalar key at top level, got a sequence");
    expect_error("- a\n- b\n", "t.yaml:1:1: expected a mapping at top level, got a sequence");
    expect_error("just text\n", "t.yaml:1:1: expected a mapping at top level, got a scalar");
    /* a null where a value is needed */
    expect_error("warehouse:\n  database:\n  user: u\n  password: p\n",
                 "t.yaml:2:12: missing value for 'warehouse.database'");
    expect_error(MINIMAL "  host: ''\n", "t.yaml:5:9: value of 'warehouse.host' is empty");
}

static void test_yaml_syntax_error(void **state)
{
    (void)state;
    expect_error_part("warehouse:\n  database: d\n user: [u\n", "t.yaml:");
    expect_error_part("warehouse:\n  database: d\n user: [u\n", ": yaml: ");
    expect_error("warehouse:\n  database: \"d\n",
                 "t.yaml:3:1: yaml: found unexpected end of stream, "
                 "while scanning a quoted scalar at 2:13");
    expect_error("a: 1\n\tb: 2\n",
                 "t.yaml:2:1: yaml: found a tab character that violates indentation, "
                 "while scanning a plain scalar at 1:4");
    /* an invalid byte is located by offset */
    expect_error_part("warehouse:\n  database: \x01\n", "t.yaml:2:13: yaml: ");
    expect_error(MINIMAL "---\nother: 1\n",
                 "t.yaml:6:1: more than one YAML document; expected one");
}

static void test_empty(void **state)
{
    (void)state;
    struct config c;
    memset(&c, 1, sizeof(c));
    assert_int_equal(config_parse(&c, "", 0, "e.yaml"), ML_ECONFIG);
    assert_string_equal(err_msg(), "e.yaml:1:1: configuration is empty: expected a mapping "
                                   "with a 'warehouse' section");
    assert_true(is_zeroed(&c));
    expect_error("# only a comment\n", "t.yaml:1:1: configuration is empty: expected a mapping "
                                       "with a 'warehouse' section");
    expect_error("~\n", "t.yaml:1:1: expected a mapping at top level, got an empty value");
    expect_error("log: { level: info }\n",
                 "t.yaml:1:1: missing required key 'warehouse' at top level");
}

static void test_missing_required(void **state)
{
    (void)state;
    expect_error("warehouse:\n  user: u\n  password: p\n",
                 "t.yaml:1:1: missing required key 'database' in 'warehouse'");
    expect_error("log: {}\nwarehouse:\n  database: d\n  password: p\n",
                 "t.yaml:2:1: missing required key 'user' in 'warehouse'");
    expect_error("warehouse:\n  database: d\n  user: u\n",
                 "t.yaml:1:1: missing required key 'password' (or 'password_file') in "
                 "'warehouse'");
    expect_error(MINIMAL "sources:\n  api: { page_size: 5 }\n",
                 "t.yaml:6:3: missing required key 'base_url' in 'sources.api'");
    expect_error(MINIMAL "sources:\n  api: { base_url: 'ftp://h/x' }\n",
                 "t.yaml:6:20: 'sources.api.base_url' must start with http:// or https:// "
                 "and a host");
    expect_error(MINIMAL "  password_file: /x\n",
                 "t.yaml:5:3: both 'password' and 'password_file' are set in 'warehouse'; "
                 "use one of them");
}

/* A scratch directory with a config name inside it. */
struct scratch {
    char dir[64];
    char cfg[128];
};

static void scratch_file(const struct scratch *s, const char *name, const char *content)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(content, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void scratch_remove(const struct scratch *s, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", s->dir, name);
    unlink(path);
}

/* pii.digest: keyed by default; the policy check of init/run/rekey; a key
 * with `digest: sha256` refused; key files read as raw first lines. */
static void test_digest_policy(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(parse(&c, MINIMAL), 0);
    assert_int_equal(c.pii.digest, PII_DIGEST_HMAC);
    assert_int_equal(config_require_digest_key(&c, "init"), ML_ECONFIG);
    if (!strstr(err_msg(), "t.yaml:1:1: missing key 'pii.digest_key_file' (or 'pii.digest_key')") ||
        !strstr(err_msg(), "openssl rand -hex 32 > F; chmod 600 F"))
        fail_msg("message '%s'", err_msg());
    config_release(&c);

    assert_int_equal(parse(&c, MINIMAL "pii:\n  birth_date: year\n"), 0);
    assert_int_equal(config_require_digest_key(&c, "run"), ML_ECONFIG);
    if (!strstr(err_msg(), "t.yaml:5:1: missing key 'pii.digest_key_file'"))
        fail_msg("message '%s'", err_msg());
    config_release(&c);

    assert_int_equal(parse(&c, MINIMAL "pii:\n  digest: sha256\n"), 0);
    assert_int_equal(c.pii.digest, PII_DIGEST_SHA256);
    assert_int_equal(config_require_digest_key(&c, "run"), 0); /* with a warning */
    config_release(&c);

    assert_int_equal(parse(&c, MINIMAL "pii:\n  digest_key: k\n  digest: hmac-sha256\n"), 0);
    assert_int_equal(config_require_digest_key(&c, "init"), 0);
    config_release(&c);

    expect_error_part(MINIMAL "pii:\n  digest_key: k\n  digest: sha256\n",
                      "t.yaml:7:11: 'pii.digest' is sha256 (unkeyed) but a digest key is set");
    expect_error(MINIMAL "pii:\n  digest: md5\n",
                 "t.yaml:6:11: 'md5' is not a valid value for 'pii.digest': use hmac-sha256 or "
                 "sha256");
}

static void test_read_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/ml_test_key_XXXXXX", path[256];
    unsigned char *key = NULL;
    size_t len = 0;
    FILE *f;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/k", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("00ff\r\nsecond line\n", f); /* hex text is not decoded; CRLF stripped */
    fclose(f);
    assert_int_equal(config_read_key_file(path, "--new-key-file", &key, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(key, "00ff", 4);
    free(key);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(config_read_key_file(path, "--new-key-file", &key, &len), ML_ECONFIG);
    assert_non_null(strstr(err_msg(), "for '--new-key-file' is empty"));
    assert_null(key);
    remove(path);
    assert_int_equal(config_read_key_file(path, "--new-key-file", &key, &len), ML_ECONFIG);
    assert_non_null(strstr(err_msg(), "cannot read"));
    rmdir(dir);
}

static void test_password_file(void **state)
{
    (void)state;
    struct scratch s;
    struct config c;
    char text[512], msg[512];
    snprintf(s.dir, sizeof(s.dir), "/tmp/ml_test_config_XXXXXX");
    assert_non_null(mkdtemp(s.dir));
    snprintf(s.cfg, sizeof(s.cfg), "%s/maskload.yaml", s.dir);
    scratch_file(&s, "pw.txt", "from-file\r\nsecond line\n");
    scratch_file(&s, "key.bin", "digest-key-1\n");
    scratch_file(&s, "empty.txt", "");
    scratch_file(&s, "noeol.txt", "no-newline");

    /* relative to the config file's directory */
    static const char rel[] = "warehouse:\n  database: d\n  user: u\n  password_file: pw.txt\n"
                              "admin:\n  password_file: noeol.txt\n"
                              "pii:\n  digest_key_file: key.bin\n";
    assert_int_equal(config_parse(&c, rel, strlen(rel), s.cfg), 0);
    assert_string_equal(c.warehouse.password, "from-file");
    assert_string_equal(c.admin.password, "no-newline");
    assert_int_equal(c.pii.digest_key_len, 12);
    assert_memory_equal(c.pii.digest_key, "digest-key-1", 12);
    config_release(&c);

    /* absolute path, with a ${VAR} in it; parsed under another name */
    setenv("ML_T_DIR", s.dir, 1);
    static const char abs[] = "warehouse:\n  database: d\n  user: u\n"
                              "  password_file: ${ML_T_DIR}/pw.txt\n";
    assert_int_equal(config_parse(&c, abs, strlen(abs), "elsewhere.yaml"), 0);
    assert_string_equal(c.warehouse.password, "from-file");
    config_release(&c);
    unsetenv("ML_T_DIR");

    /* relative path with a config name without a directory: cwd */
    assert_int_equal(config_parse(&c, rel, strlen(rel), "maskload.yaml"), ML_ECONFIG);
    assert_string_equal(err_msg(), "maskload.yaml:4:18: cannot read './pw.txt' for "
                                   "'warehouse.password_file': No such file or directory");

    /* missing file names key and path */
    snprintf(text, sizeof(text),
             "warehouse:\n  database: d\n  user: u\n  password_file: missing.txt\n");
    memset(&c, 0x5a, sizeof(c));
    assert_int_equal(config_parse(&c, text, strlen(text), s.cfg), ML_ECONFIG);
    snprintf(msg, sizeof(msg),
             "%s:4:18: cannot read '%s/missing.txt' for 'warehouse.password_file': "
             "No such file or directory",
             s.cfg, s.dir);
    assert_string_equal(err_msg(), msg);
    assert_true(is_zeroed(&c));

    /* empty file */
    snprintf(text, sizeof(text),
             "warehouse:\n  database: d\n  user: u\n  password_file: empty.txt\n");
    assert_int_equal(config_parse(&c, text, strlen(text), s.cfg), ML_ECONFIG);
    snprintf(msg, sizeof(msg), "%s:4:18: '%s/empty.txt' for 'warehouse.password_file' is empty",
             s.cfg, s.dir);
    assert_string_equal(err_msg(), msg);

    /* both digest_key and digest_key_file */
    snprintf(text, sizeof(text), MINIMAL "pii:\n  digest_key: x\n  digest_key_file: key.bin\n");
    assert_int_equal(config_parse(&c, text, strlen(text), s.cfg), ML_ECONFIG);
    assert_non_null(strstr(err_msg(), "both 'digest_key' and 'digest_key_file' are set in 'pii'"));

    /* ca_file is resolved the same way */
    snprintf(text, sizeof(text),
             MINIMAL "sources:\n  a: { base_url: 'http://h', ca_file: certs/ca.pem }\n");
    assert_int_equal(config_parse(&c, text, strlen(text), s.cfg), 0);
    snprintf(msg, sizeof(msg), "%s/certs/ca.pem", s.dir);
    assert_string_equal(c.sources[0].ca_file, msg);
    config_release(&c);

    scratch_remove(&s, "pw.txt");
    scratch_remove(&s, "key.bin");
    scratch_remove(&s, "empty.txt");
    scratch_remove(&s, "noeol.txt");
    assert_int_equal(rmdir(s.dir), 0);
}

static void test_config_load(void **state)
{
    (void)state;
    struct scratch s;
    struct config c;
    snprintf(s.dir, sizeof(s.dir), "/tmp/ml_test_config_XXXXXX");
    assert_non_null(mkdtemp(s.dir));
    snprintf(s.cfg, sizeof(s.cfg), "%s/maskload.yaml", s.dir);
    scratch_file(&s, "maskload.yaml", MINIMAL "load: { batch_size: 7 }\n");
    assert_int_equal(config_load(&c, s.cfg), 0);
    assert_string_equal(c.path, s.cfg);
    assert_int_equal(c.load.batch_size, 7);
    config_release(&c);

    scratch_file(&s, "maskload.yaml", MINIMAL "load: { batch_size: x }\n");
    assert_int_equal(config_load(&c, s.cfg), ML_ECONFIG);
    char msg[256];
    snprintf(msg, sizeof(msg), "%s:5:21: 'x' is not an integer for 'load.batch_size'", s.cfg);
    assert_string_equal(err_msg(), msg);
    assert_true(is_zeroed(&c));

    scratch_remove(&s, "maskload.yaml");
    memset(&c, 0x11, sizeof(c));
    assert_int_equal(config_load(&c, s.cfg), ML_ECONFIG);
    snprintf(msg, sizeof(msg), "cannot read '%s': No such file or directory", s.cfg);
    assert_string_equal(err_msg(), msg);
    assert_true(is_zeroed(&c));
    assert_int_equal(rmdir(s.dir), 0);
}

static void assert_no_secret(const char *text)
{
    struct config c;
    assert_int_equal(parse(&c, text), ML_ECONFIG);
    if (strstr(err_msg(), "S3cr3t-xyz"))
        fail_msg("secret leaked in '%s'", err_msg());
    assert_true(err_msg()[0] != '\0');
}

static void test_secrets_not_in_messages(void **state)
{
    (void)state;
    /* an invalid sibling key */
    assert_no_secret("warehouse:\n  database: d\n  user: u\n  password: S3cr3t-xyz\n"
                     "  databse: x\n");
    assert_string_equal(
        err_msg(), "t.yaml:5:3: unknown key 'databse' in 'warehouse' (did you mean 'database'?)");
    /* a flow-mapping typo that makes the secret part of a key */
    assert_no_secret(MINIMAL "accounts:\n  analyst: { user: a, password S3cr3t-xyz }\n");
    assert_string_equal(err_msg(), "t.yaml:6:23: unknown key without a value in "
                                   "'accounts.analyst' (not shown: it may be a misplaced value)");
    assert_no_secret(MINIMAL "accounts:\n  analyst: { user: a, password, S3cr3t-xyz }\n");
    assert_string_equal(err_msg(), "t.yaml:6:31: missing value for 'accounts.analyst.password'");
    assert_no_secret(MINIMAL "accounts:\n  analyst: { user: a, password S3cr3t-xyz: x }\n");
    assert_string_equal(err_msg(), "t.yaml:6:23: unknown key 'password...' in 'accounts.analyst'");
    /* a multi-line plain scalar that swallowed the next line */
    assert_no_secret("warehouse:\n  database: d\n  user: u\n    password, S3cr3t-xyz\n"
                     "  password: p\n");
    assert_string_equal(err_msg(), "t.yaml:3:9: 'u...' is not a valid user name for "
                                   "'warehouse.user': use 1..80 characters from [A-Za-z0-9_.-]");
    assert_no_secret(MINIMAL "accounts:\n  analyst: { user: a, password:S3cr3t-xyz }\n");
    assert_no_secret(MINIMAL "accounts:\n  analyst: { user: a, password: S3cr3t-xyz, "
                             "password: S3cr3t-xyz }\n");
    /* a secret in the wrong place */
    assert_no_secret("warehouse:\n  database: d\n  user: u\n  password: S3cr3t-xyz\n"
                     "  password_file: S3cr3t-xyz\n");
    assert_no_secret("warehouse:\n  database: d\n  user: u\n  password: { v: S3cr3t-xyz }\n");
    assert_no_secret(MINIMAL "sources:\n  api: { base_url: 'ftp://u:S3cr3t-xyz@h' }\n");
    /* a secret from the environment used where an integer or a name goes */
    setenv("ML_T_SECRET", "S3cr3t-xyz", 1);
    assert_no_secret(MINIMAL "  port: ${ML_T_SECRET}\n");
    assert_string_equal(err_msg(), "t.yaml:5:9: the value from the environment is not an "
                                   "integer for 'warehouse.port'");
    assert_no_secret(MINIMAL "log:\n  level: ${ML_T_SECRET}\n");
    assert_no_secret("warehouse:\n  database: d\n  user: ${ML_T_SECRET}!\n  password: p\n");
    assert_no_secret(MINIMAL "sources:\n  a: { base_url: 'http://h' }\n"
                             "streams:\n  users: { source: '${ML_T_SECRET}' }\n");
    unsetenv("ML_T_SECRET");
    /* a broken quote inside a secret */
    assert_no_secret("warehouse:\n  password: \"S3cr3t-xyz\n  user: u\n");
    /* secrets with unterminated or invalid ${ */
    assert_no_secret("warehouse:\n  database: d\n  user: u\n  password: S3cr3t-xyz${\n");
    assert_no_secret("warehouse:\n  database: d\n  user: u\n  password: ${S3cr3t-xyz}\n");
    assert_string_equal(err_msg(), "t.yaml:4:13: invalid environment variable name in '${...}' "
                                   "in 'warehouse.password' (use [A-Za-z_][A-Za-z0-9_]*; "
                                   "write '$$' for a literal '$')");
}

static void test_nul_and_escaping(void **state)
{
    (void)state;
    /* NUL only allowed in the digest key */
    expect_error("warehouse:\n  database: d\n  user: u\n  password: \"a\\0b\"\n",
                 "t.yaml:4:13: value of 'warehouse.password' contains a NUL character");
    /* unknown keys are echoed up to their first unusual character, and cut */
    expect_error(MINIMAL "\"bad\\tkey\": 1\n", "t.yaml:5:1: unknown key 'bad...' at top level");
    expect_error_part(MINIMAL "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                              "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk: 1\n",
                      "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' at top "
                      "level");
}

static void test_aliases(void **state)
{
    (void)state;
    struct config c;
    /* anchors and aliases are resolved; an alias used as a duplicate key is caught */
    assert_int_equal(parse(&c, "x_defaults: &d { base_url: 'http://h', page_size: 9 }\n"),
                     ML_ECONFIG);
    assert_string_equal(err_msg(), "t.yaml:1:1: unknown key 'x_defaults' at top level");
    assert_int_equal(parse(&c, MINIMAL "sources:\n  a: &d { base_url: 'http://h', page_size: 9 }\n"
                                       "  b: *d\n"),
                     0);
    assert_int_equal(c.nsources, 2);
    assert_string_equal(c.sources[1].name, "b");
    assert_int_equal(c.sources[1].page_size, 9);
    config_release(&c);
}

/* DESIGN.md's own example puts ${VAR} inside flow mappings, where YAML does
 * not allow braces in plain scalars: it must parse, and positions must stay
 * exact. */
static void test_env_in_flow_mapping(void **state)
{
    (void)state;
    struct config c;
    setenv("ML_T_APW", "an@lyst pw", 1);
    setenv("ML_T_SPW", "st}ew{ard", 1);
    const char *text = MINIMAL "accounts:\n"
                               "  analyst: { user: analyst, password: ${ML_T_APW} }\n"
                               "  steward: { user: pii_steward, password: ${ML_T_SPW} }\n";
    assert_int_equal(parse(&c, text), 0);
    assert_string_equal(c.accounts.analyst.password, "an@lyst pw");
    assert_string_equal(c.accounts.steward.password, "st}ew{ard");
    config_release(&c);
    /* a literal $$ stays a literal, also next to braces */
    assert_int_equal(parse(&c, MINIMAL "roles: { loader: r$${x}y }\n"), ML_ECONFIG);
    unsetenv("ML_T_NOPE");
    expect_error(MINIMAL "accounts:\n  analyst: { user: a, password: ${ML_T_NOPE} }\n",
                 "t.yaml:6:33: environment variable 'ML_T_NOPE' is not set (in "
                 "'accounts.analyst.password')");
    unsetenv("ML_T_APW");
    unsetenv("ML_T_SPW");
}

/* sources.NAME retry and low-speed keys: defaults, values, ranges, kinds. */
/* kind sqs: the keys are stored, defaults applied, and every guard fails
 * with a message naming the key. */
static void test_sqs_source(void **state)
{
    (void)state;
    struct config c;
    const struct config_source *q;
    assert_int_equal(parse(&c,
                           MINIMAL "sources:\n  q:\n    kind: sqs\n"
                                   "    queue_url: https://sqs.eu-west-1.amazonaws.com/1/logins\n"
                                   "streams:\n  user_logins: { source: q }\n"),
                     0);
    q = &c.sources[0];
    assert_int_equal(q->kind, SOURCE_SQS);
    assert_string_equal(q->queue_url, "https://sqs.eu-west-1.amazonaws.com/1/logins");
    assert_null(q->region);
    assert_null(q->endpoint);
    assert_null(q->access_key_id);
    assert_null(q->secret_access_key);
    assert_null(q->session_token);
    assert_int_equal(q->wait_seconds, 20);
    assert_int_equal(q->visibility_timeout, 300);
    assert_int_equal(q->max_messages, 10);
    assert_int_equal(q->on_malformed, SQS_MALFORMED_REJECT);
    assert_int_equal(q->timeout_s, 60);
    assert_string_equal(c.streams[0].mapping, "user_logins");
    config_release(&c);

    setenv("ML_TEST_SQS_SECRET", "s3cr3t-value", 1);
    assert_int_equal(parse(&c, MINIMAL "sources:\n  q:\n    kind: sqs\n"
                                       "    queue_url: http://sqs.us-east-1.localhost:4566/0/q\n"
                                       "    endpoint: http://127.0.0.1:4566\n"
                                       "    region: us-east-1\n    wait_seconds: 0\n"
                                       "    visibility_timeout: 43200\n    max_messages: 1\n"
                                       "    access_key_id: AKID\n"
                                       "    secret_access_key: ${ML_TEST_SQS_SECRET}\n"
                                       "    session_token: TOKEN\n"
                                       "    on_malformed: dead_letter\n    timeout: 5\n"),
                     0);
    q = &c.sources[0];
    assert_string_equal(q->endpoint, "http://127.0.0.1:4566");
    assert_string_equal(q->region, "us-east-1");
    assert_int_equal(q->wait_seconds, 0);
    assert_int_equal(q->visibility_timeout, 43200);
    assert_int_equal(q->max_messages, 1);
    assert_string_equal(q->access_key_id, "AKID");
    assert_string_equal(q->secret_access_key, "s3cr3t-value");
    assert_string_equal(q->session_token, "TOKEN");
    assert_int_equal(q->on_malformed, SQS_MALFORMED_DEAD_LETTER);
    config_release(&c);

#define SQS_HEAD MINIMAL "sources:\n  q:\n    kind: sqs\n"
#define SQS_URL  "    queue_url: http://h/0/q\n"
    expect_error(SQS_HEAD "    region: us-east-1\n",
                 "t.yaml:6:3: missing required key 'queue_url' in 'sources.q'");
    expect_error_part(SQS_HEAD "    queue_url: sqs://h/0/q\n",
                      "'sources.q.queue_url' must start with http:// or https:// and a host");
    expect_error_part(SQS_HEAD SQS_URL "    endpoint: 127.0.0.1:4566\n",
                      "'sources.q.endpoint' must start with http:// or https://");
    expect_error_part(SQS_HEAD SQS_URL "    region: EU West\n",
                      "'sources.q.region' must be an AWS region name");
    expect_error_part(SQS_HEAD SQS_URL "    wait_seconds: 21\n",
                      "'21' is out of range for 'sources.q.wait_seconds' (0..20)");
    expect_error_part(SQS_HEAD SQS_URL "    max_messages: 11\n",
                      "'11' is out of range for 'sources.q.max_messages' (1..10)");
    expect_error_part(SQS_HEAD SQS_URL "    visibility_timeout: 43201\n",
                      "'43201' is out of range for 'sources.q.visibility_timeout' (0..43200)");
    expect_error_part(SQS_HEAD SQS_URL "    on_malformed: drop\n",
                      "'drop' is not a valid value for 'sources.q.on_malformed': use reject or "
                      "dead_letter");
    expect_error_part(SQS_HEAD SQS_URL "    access_key_id: AKID\n",
                      "'sources.q.access_key_id' and 'sources.q.secret_access_key' go together");
    expect_error_part(SQS_HEAD SQS_URL "    secret_access_key: ${ML_TEST_SQS_SECRET}\n",
                      "go together");
    expect_error_part(SQS_HEAD SQS_URL "    session_token: TOKEN\n",
                      "'sources.q.session_token' needs 'access_key_id' and 'secret_access_key'");
    expect_error_part(SQS_HEAD SQS_URL "    wait_seconds: 20\n    timeout: 20\n",
                      "'sources.q.timeout' (20 s) must exceed 'sources.q.wait_seconds' (20 s)");
    expect_error_part(SQS_HEAD SQS_URL "    page_size: 10\n",
                      "unknown key 'page_size' in 'sources.q' for kind 'sqs'");
    /* the secret is never quoted in an error */
    expect_error_part(SQS_HEAD SQS_URL "    secret_access_key: ${ML_TEST_SQS_SECRET}\n"
                                       "    access_key_id: AKID\n    wait_seconds: 99\n",
                      "wait_seconds");
    assert_null(strstr(err_msg(), "s3cr3t"));
#undef SQS_HEAD
#undef SQS_URL
    unsetenv("ML_TEST_SQS_SECRET");
}

static void test_http_retry_keys(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(parse(&c, MINIMAL "sources:\n  a: { base_url: 'http://h' }\n"), 0);
    assert_int_equal(c.sources[0].low_speed_limit, 1);
    assert_int_equal(c.sources[0].low_speed_time_s, 30);
    assert_int_equal(c.sources[0].retries, 5);
    assert_int_equal(c.sources[0].retry_base_ms, 500);
    assert_int_equal(c.sources[0].retry_max_ms, 30000);
    assert_int_equal(c.sources[0].retry_after_max_s, 120);
    config_release(&c);

    assert_int_equal(parse(&c, MINIMAL "sources:\n  a:\n    base_url: 'http://h'\n"
                                       "    low_speed_limit: 1000\n    low_speed_time: 5\n"
                                       "    retries: 0\n    retry_base_ms: 10\n"
                                       "    retry_max_ms: 10\n    retry_after_max: 0\n"),
                     0);
    assert_int_equal(c.sources[0].low_speed_limit, 1000);
    assert_int_equal(c.sources[0].low_speed_time_s, 5);
    assert_int_equal(c.sources[0].retries, 0);
    assert_int_equal(c.sources[0].retry_base_ms, 10);
    assert_int_equal(c.sources[0].retry_max_ms, 10);
    assert_int_equal(c.sources[0].retry_after_max_s, 0);
    config_release(&c);

    /* a base above the default cap raises the default cap to it */
    assert_int_equal(parse(&c, MINIMAL "sources:\n  a: { base_url: 'http://h', "
                                       "retry_base_ms: 60000 }\n"),
                     0);
    assert_int_equal(c.sources[0].retry_max_ms, 60000);
    config_release(&c);

    expect_error(MINIMAL "sources:\n  a: { base_url: 'http://h', retries: 101 }\n",
                 "t.yaml:6:39: '101' is out of range for 'sources.a.retries' (0..100)");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h', retries: -1 }\n",
                      "'-1' is out of range for 'sources.a.retries' (0..100)");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h', retries: many }\n",
                      "'many' is not an integer for 'sources.a.retries'");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h', retry_base_ms: 0 }\n",
                      "'0' is out of range for 'sources.a.retry_base_ms' (1..3600000)");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h', retry_base_ms: 100, "
                              "retry_max_ms: 99 }\n",
                      "'99' is out of range for 'sources.a.retry_max_ms' (100..3600000)");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h', retry_after_max: 86401 }\n",
                      "'86401' is out of range for 'sources.a.retry_after_max' (0..86400)");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h', low_speed_limit: 0 }\n",
                      "'0' is out of range for 'sources.a.low_speed_limit' (1..1000000000)");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h', low_speed_time: 0 }\n",
                      "'0' is out of range for 'sources.a.low_speed_time' (1..86400)");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h', retry: 3 }\n",
                      "unknown key 'retry' in 'sources.a'");
    /* http-only keys are refused for another kind */
    expect_error_part(MINIMAL "sources:\n  a: { kind: file, path: x.json, retries: 3 }\n",
                      "unknown key 'retries' in 'sources.a' for kind 'file'");
}

/* sources.*.headers / params / auth: values, secrets from the environment
 * and files, and every rule's must-fail case (never quoting a secret). */
static void test_http_credentials(void **state)
{
    (void)state;
    struct config c;
    char text[1024];
#define API MINIMAL "sources:\n  a:\n    base_url: 'http://h/v1'\n"
    setenv("ML_T_TOKEN", "S3cr3t-xyz", 1);
    assert_int_equal(parse(&c, API "    headers:\n      X-Api-Key: 'k-${ML_T_TOKEN}'\n"
                                   "      Accept: application/json\n"
                                   "    params: { api_key: '${ML_T_TOKEN}', v: 2 }\n"
                                   "    auth: { type: bearer, token: '${ML_T_TOKEN}' }\n"),
                     0);
    assert_string_equal(c.sources[0].headers[0], "X-Api-Key: k-S3cr3t-xyz");
    assert_string_equal(c.sources[0].headers[1], "Accept: application/json");
    assert_null(c.sources[0].headers[2]);
    assert_int_equal(c.sources[0].nparams, 2);
    assert_string_equal(c.sources[0].params[0].name, "api_key");
    assert_string_equal(c.sources[0].params[0].value, "S3cr3t-xyz");
    assert_string_equal(c.sources[0].params[1].value, "2");
    assert_int_equal(c.sources[0].auth.type, AUTH_BEARER);
    assert_string_equal(c.sources[0].auth.token, "S3cr3t-xyz");
    config_release(&c);
    assert_true(is_zeroed(&c));

    /* none of them: no credentials */
    assert_int_equal(parse(&c, API), 0);
    assert_null(c.sources[0].headers);
    assert_int_equal(c.sources[0].nparams, 0);
    assert_int_equal(c.sources[0].auth.type, AUTH_NONE);
    config_release(&c);

    /* basic, and a token from a file (relative to the config file) */
    char dir[] = "/tmp/ml_test_cred_XXXXXX", cfg[128], tok[128];
    assert_non_null(mkdtemp(dir));
    snprintf(cfg, sizeof(cfg), "%s/maskload.yaml", dir);
    snprintf(tok, sizeof(tok), "%s/token", dir);
    FILE *f = fopen(tok, "w");
    assert_non_null(f);
    fputs("from-file\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(text, sizeof(text), "%s", API "    auth: { type: bearer, token_file: token }\n");
    assert_int_equal(config_parse(&c, text, strlen(text), cfg), 0);
    assert_string_equal(c.sources[0].auth.token, "from-file");
    config_release(&c);
    snprintf(text, sizeof(text), "%s",
             API "    auth: { type: basic, user: etl, password_file: token }\n");
    assert_int_equal(config_parse(&c, text, strlen(text), cfg), 0);
    assert_int_equal(c.sources[0].auth.type, AUTH_BASIC);
    assert_string_equal(c.sources[0].auth.user, "etl");
    assert_string_equal(c.sources[0].auth.password, "from-file");
    config_release(&c);
    assert_int_equal(unlink(tok), 0);
    assert_int_equal(rmdir(dir), 0);

    /* the must-fail cases */
    expect_error(API "    auth: { type: oauth, token: x }\n",
                 "t.yaml:8:19: 'oauth' is not a valid value for 'sources.a.auth.type': use "
                 "bearer or basic");
    expect_error(API "    auth: { token: '${ML_T_TOKEN}' }\n",
                 "t.yaml:8:5: missing required key 'type' in 'sources.a.auth' (bearer or basic)");
    expect_error(API "    auth: { type: bearer, token: '${ML_T_TOKEN}', token_file: t }\n",
                 "t.yaml:8:51: both 'token' and 'token_file' are set in 'sources.a.auth'; use "
                 "one of them");
    assert_null(strstr(err_msg(), "S3cr3t"));
    expect_error(API "    auth: { type: bearer }\n",
                 "t.yaml:8:5: missing required key 'token' (or 'token_file') in 'sources.a.auth'");
    expect_error_part(API "    auth: { type: bearer, token: x, user: u }\n",
                      "'sources.a.auth' of type bearer takes 'token' (or 'token_file'), not "
                      "'user' or 'password'");
    expect_error_part(API "    auth: { type: basic, user: u, password: p, token: t }\n",
                      "'sources.a.auth' of type basic takes 'user' and 'password', not 'token'");
    expect_error_part(API "    auth: { type: basic, password: p }\n",
                      "missing required key 'user' in 'sources.a.auth'");
    expect_error_part(API "    auth: { type: basic, user: u }\n",
                      "missing required key 'password' (or 'password_file') in 'sources.a.auth'");
    expect_error_part(API "    auth: { type: basic, user: 'u:x', password: p }\n",
                      "'sources.a.auth.user' must not be empty nor hold ':'");
    expect_error_part(API "    auth: { type: bearer, token: '' }\n",
                      "value of 'sources.a.auth.token' is empty");
    expect_error_part(API "    auth: { type: bearer, token: \"S3cr3t-xyz\\nX-Evil: 1\" }\n",
                      "value of 'sources.a.auth.token' holds a line break or a NUL byte");
    assert_null(strstr(err_msg(), "S3cr3t"));
    expect_error_part(API "    auth: { type: bearer, token: x, scope: y }\n",
                      "unknown key 'scope' in 'sources.a.auth'");
    expect_error_part(API "    headers: { 'X Key': v }\n",
                      "header name 'X...' in 'sources.a.headers' must be HTTP token characters");
    expect_error_part(API "    headers: { 'X:Key': v }\n", "must be HTTP token characters");
    expect_error_part(API "    headers: { X-Key: \"S3cr3t-xyz\\r\\nHost: evil\" }\n",
                      "value of 'sources.a.headers.X-Key' holds a line break or a NUL byte");
    assert_null(strstr(err_msg(), "S3cr3t"));
    expect_error_part(API "    headers: { X-Key: '' }\n",
                      "value of 'sources.a.headers.X-Key' is empty");
    expect_error_part(API "    headers: { X-Key: a, x-key: b }\n",
                      "duplicate header 'x-key' in 'sources.a.headers' (names ignore case)");
    expect_error_part(API "    headers: { X-Key: }\n",
                      "missing value for 'sources.a.headers.X-Key'");
    expect_error_part(API "    headers: [ 'X-Key: v' ]\n", "sources.a.headers");
    expect_error_part(API "    headers: { Authorization: 'Bearer ${ML_T_TOKEN}' }\n"
                          "    auth: { type: bearer, token: x }\n",
                      "'sources.a.auth' and an 'Authorization' header in 'sources.a.headers' "
                      "both set the credentials; use one of them");
    assert_null(strstr(err_msg(), "S3cr3t"));
    expect_error_part(API "    params: { page: 2 }\n",
                      "'sources.a.params.page' is the loader's own paging parameter; set "
                      "'sources.a.page_size' instead");
    expect_error_part(API "    params: { limit: 2 }\n", "own paging parameter");
    expect_error_part(API "    params: { 'a&b': 2 }\n", "for a key in 'sources.a.params'");
    expect_error_part(API "    params: { key: }\n", "missing value for 'sources.a.params.key'");
    expect_error(MINIMAL "sources:\n  a: { base_url: 'http://h/v1?api_key=S3cr3t-xyz' }\n",
                 "t.yaml:6:18: 'sources.a.base_url' must not hold a query or fragment ('?' or "
                 "'#'): put query parameters in 'sources.a.params' and credentials in "
                 "'sources.a.headers' or 'sources.a.auth'");
    expect_error_part(MINIMAL "sources:\n  a: { base_url: 'http://h/v1#frag' }\n",
                      "must not hold a query or fragment");
    expect_error(MINIMAL "sources:\n  a: { base_url: 'https://bob:S3cr3t-xyz@h/v1' }\n",
                 "t.yaml:6:18: 'sources.a.base_url' must not hold credentials "
                 "(user:password@): put them in 'sources.a.auth' (basic) or 'sources.a.headers'");
    /* an '@' in the path is no userinfo */
    struct config at_path;
    assert_int_equal(parse(&at_path, MINIMAL "sources:\n  a: { base_url: 'http://h/v1/@me' }\n"),
                     0);
    config_release(&at_path);
    /* sqs keeps its own credentials */
    expect_error_part(MINIMAL "sources:\n  q: { kind: sqs, queue_url: 'http://h/0/q', "
                              "auth: { type: bearer, token: x } }\n",
                      "unknown key 'auth' in 'sources.q' for kind 'sqs'");
    expect_error_part(MINIMAL "sources:\n  f: { kind: file, path: x.json, headers: { A: b } }\n",
                      "unknown key 'headers' in 'sources.f' for kind 'file'");
    unsetenv("ML_T_TOKEN");
#undef API
}

/* warehouse.tls / admin.tls and warehouse.lock_wait_timeout: defaults, values,
 * admin inheriting the warehouse's, and every rule's must-fail case. */
static void test_db_tls(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(parse(&c, MINIMAL), 0);
    assert_int_equal(c.warehouse.tls.mode, TLS_OFF);
    assert_null(c.warehouse.tls.ca);
    assert_null(c.warehouse.tls.cert);
    assert_int_equal(c.admin.tls.mode, TLS_OFF);
    assert_int_equal(c.warehouse.lock_wait_timeout_s, 0);
    config_release(&c);

    /* relative paths are resolved against the config's directory ("t.yaml": ".") */
    assert_int_equal(parse(&c, MINIMAL "  lock_wait_timeout: 5\n"
                                       "  tls: { mode: verify_identity, ca: /etc/ca.pem, "
                                       "cert: c.pem, key: k.pem }\n"),
                     0);
    assert_int_equal(c.warehouse.lock_wait_timeout_s, 5);
    assert_int_equal(c.warehouse.tls.mode, TLS_VERIFY_IDENTITY);
    assert_string_equal(c.warehouse.tls.ca, "/etc/ca.pem");
    assert_non_null(strstr(c.warehouse.tls.cert, "c.pem"));
    assert_non_null(strstr(c.warehouse.tls.key, "k.pem"));
    /* admin without tls: a copy of the warehouse's */
    assert_int_equal(c.admin.tls.mode, TLS_VERIFY_IDENTITY);
    assert_string_equal(c.admin.tls.ca, "/etc/ca.pem");
    assert_ptr_not_equal(c.admin.tls.ca, c.warehouse.tls.ca);
    assert_non_null(c.admin.tls.key);
    config_release(&c);

    /* admin with its own tls replaces the warehouse's as a whole */
    assert_int_equal(parse(&c, MINIMAL "  tls: { mode: verify_ca, ca: /etc/ca.pem }\n"
                                       "admin:\n  tls: { mode: required }\n"),
                     0);
    assert_int_equal(c.warehouse.tls.mode, TLS_VERIFY_CA);
    assert_int_equal(c.admin.tls.mode, TLS_REQUIRED);
    assert_null(c.admin.tls.ca);
    config_release(&c);

    assert_int_equal(parse(&c, MINIMAL "  tls: { mode: required }\n"), 0);
    assert_int_equal(c.warehouse.tls.mode, TLS_REQUIRED);
    assert_null(c.warehouse.tls.ca);
    config_release(&c);

    expect_error(MINIMAL "  tls: { mode: maybe }\n",
                 "t.yaml:5:16: 'maybe' is not a valid value for 'warehouse.tls.mode': use off, "
                 "required, verify_ca or verify_identity");
    expect_error(MINIMAL "  tls: { mode: verify_ca }\n",
                 "t.yaml:5:16: 'warehouse.tls.mode' verify_ca needs 'warehouse.tls.ca' (the CA to "
                 "verify with)");
    expect_error_part(MINIMAL "admin:\n  tls: { mode: verify_identity }\n",
                      "'admin.tls.mode' verify_identity needs 'admin.tls.ca'");
    expect_error_part(MINIMAL "  tls: { mode: required, cert: c.pem }\n",
                      "'warehouse.tls.cert' and 'warehouse.tls.key' go together");
    expect_error_part(MINIMAL "  tls: { mode: off, ca: ca.pem }\n",
                      "'warehouse.tls' has files but mode 'off'");
    expect_error_part(MINIMAL "  tls: { mode: required, cipher: x }\n",
                      "unknown key 'cipher' in 'warehouse.tls'");
    expect_error_part(MINIMAL "  tls: { mode: required, ca: '' }\n",
                      "value of 'warehouse.tls.ca' is empty");
    expect_error_part(MINIMAL "  lock_wait_timeout: 0\n",
                      "out of range for 'warehouse.lock_wait_timeout'");
}

/* kind: file needs a path, resolved against the config file's directory. */
static void test_file_source(void **state)
{
    (void)state;
    struct config c;
    assert_int_equal(
        config_parse(
            &c, MINIMAL "sources:\n  f: { kind: file, path: data/u.jsonl, page_size: 50 }\n",
            strlen(MINIMAL "sources:\n  f: { kind: file, path: data/u.jsonl, page_size: 50 }\n"),
            "/etc/ml/t.yaml"),
        0);
    assert_int_equal(c.sources[0].kind, SOURCE_FILE);
    assert_string_equal(c.sources[0].file_path, "/etc/ml/data/u.jsonl");
    assert_int_equal(c.sources[0].page_size, 50);
    config_release(&c);
    expect_error_part(MINIMAL "sources:\n  f: { kind: file }\n",
                      "missing required key 'path' in 'sources.f'");
    expect_error_part(MINIMAL "sources:\n  f: { kind: file, path: x, base_url: http://a }\n",
                      "unknown key 'base_url' in 'sources.f' for kind 'file'");
}

/* ---- warehouse.kind and warehouse.schema ---- */

static void test_warehouse_kind_default(void **state)
{
    struct config c;
    (void)state;
    assert_int_equal(parse(&c, MINIMAL), 0);
    assert_int_equal(c.warehouse.kind, WAREHOUSE_MYSQL);
    assert_null(c.warehouse.schema);
    assert_int_equal(c.warehouse.port, 3306);
    assert_string_equal(c.admin.user, "root");
    config_release(&c);
    assert_int_equal(parse(&c, MINIMAL "  kind: mysql\n"), 0);
    assert_int_equal(c.warehouse.kind, WAREHOUSE_MYSQL);
    config_release(&c);
}

static void test_warehouse_kind_postgres(void **state)
{
    struct config c;
    (void)state;
    assert_int_equal(parse(&c, "warehouse:\n"
                               "  kind: postgres\n"
                               "  database: spark_dwh\n"
                               "  user: maskload_loader\n"
                               "  password: pw\n"),
                     0);
    assert_int_equal(c.warehouse.kind, WAREHOUSE_POSTGRES);
    assert_string_equal(c.warehouse.schema, "maskload");
    assert_int_equal(c.warehouse.port, 5432);
    assert_int_equal(c.admin.port, 5432);
    assert_string_equal(c.admin.user, "postgres");
    config_release(&c);

    assert_int_equal(parse(&c, MINIMAL "  kind: postgres\n"
                                       "  port: 6543\n"
                                       "  schema: public\n"
                                       "admin: { user: dba }\n"),
                     0);
    assert_string_equal(c.warehouse.schema, "public");
    assert_int_equal(c.warehouse.port, 6543);
    assert_string_equal(c.admin.user, "dba");
    config_release(&c);

    /* several servers (libpq's multi-host connection): a port defaults to
     * 5432, host/port name the first, a failover per host by default, and
     * admin takes the same list */
    assert_int_equal(parse(&c, MINIMAL "  kind: postgres\n  hosts: [pg1:6543, pg2]\n"), 0);
    assert_int_equal(c.warehouse.nhosts, 2);
    assert_string_equal(c.warehouse.hosts[0].host, "pg1");
    assert_int_equal(c.warehouse.hosts[0].port, 6543);
    assert_string_equal(c.warehouse.hosts[1].host, "pg2");
    assert_int_equal(c.warehouse.hosts[1].port, 5432);
    assert_string_equal(c.warehouse.host, "pg1");
    assert_int_equal(c.warehouse.port, 6543);
    assert_int_equal(c.warehouse.failovers, 2);
    assert_int_equal(c.admin.nhosts, 2);
    assert_int_equal(c.admin.hosts[1].port, 5432);
    config_release(&c);

    /* a socket directory instead of host and port */
    assert_int_equal(parse(&c, MINIMAL "  kind: postgres\n  socket: /run/postgresql\n"), 0);
    assert_null(c.warehouse.host);
    assert_string_equal(c.warehouse.socket, "/run/postgresql");
    config_release(&c);
}

static void test_warehouse_kind_errors(void **state)
{
    (void)state;
    expect_error(MINIMAL "  kind: oracle\n",
                 "t.yaml:5:9: 'oracle' is not a valid value for 'warehouse.kind': use mysql or "
                 "postgres");
    expect_error(MINIMAL "  schema: analytics\n",
                 "t.yaml:5:3: 'warehouse.schema' applies to kind postgres only (a MySQL "
                 "warehouse's schema is its 'database')");
    expect_error(MINIMAL "  kind: postgres\n  schema: Analytics\n",
                 "t.yaml:6:11: 'Analytics' is not a valid schema for 'warehouse.schema': use "
                 "1..63 characters from [a-z0-9_], not starting with a digit or 'pg_'");
    expect_error_part(MINIMAL "  kind: postgres\n  schema: pg_catalog\n",
                      "t.yaml:6:11: 'pg_catalog' is not a valid schema");
    expect_error_part(MINIMAL "  kind: postgres\n  schema: 1st\n", "t.yaml:6:11: '1st' is not");
    expect_error_part(MINIMAL "  kind: postgres\n  schema: \"a;b\"\n", "t.yaml:6:11: 'a;b' is not");
    expect_error_part(MINIMAL "  kind: postgres\n  schema: "
                              "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd\n",
                      "t.yaml:6:11: 'abcdefghij");
    expect_error("warehouse:\n"
                 "  kind: postgres\n"
                 "  database: abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd\n"
                 "  user: u\n"
                 "  password: pw\n",
                 "t.yaml:3:13: 'warehouse.database' of kind postgres has at most 63 characters");
    expect_error(MINIMAL "  kind: postgres\n  hosts: [a:5433, b]\n  port: 5433\n",
                 "t.yaml:6:3: 'warehouse.hosts' and 'warehouse.host'/'port'/'socket' exclude each "
                 "other: list every server in 'hosts'");
    expect_error(MINIMAL "  kind: postgres\n  hosts: [a, a:5432]\n",
                 "t.yaml:6:14: 'warehouse.hosts' entry 2 repeats entry 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_tls),
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_warehouse_kind_default),
        cmocka_unit_test(test_warehouse_kind_postgres),
        cmocka_unit_test(test_warehouse_kind_errors),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_socket_defaults),
        cmocka_unit_test(test_env_substitution),
        cmocka_unit_test(test_env_unset),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_bad_integer),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_bad_identifier),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_stream_unknown_source),
        cmocka_unit_test(test_wrong_node_type),
        cmocka_unit_test(test_yaml_syntax_error),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_password_file),
        cmocka_unit_test(test_digest_policy),
        cmocka_unit_test(test_read_key_file),
        cmocka_unit_test(test_config_load),
        cmocka_unit_test(test_secrets_not_in_messages),
        cmocka_unit_test(test_nul_and_escaping),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_env_in_flow_mapping),
        cmocka_unit_test(test_file_source),
        cmocka_unit_test(test_http_retry_keys),
        cmocka_unit_test(test_http_credentials),
        cmocka_unit_test(test_sqs_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// sqs-tool.mjs - the SQS emulator (npm fauxqs) on loopback, and a tiny SQS
// client for the tests and the demo (fauxqs does not check signatures, so
// these calls are unsigned; maskload itself always signs).
//
//   node sqs-tool.mjs serve PORT_FILE [PORT]     fauxqs on 127.0.0.1:PORT (default: a
//                                                free port), the port written to
//                                                PORT_FILE (FAUXQS_DIR: where fauxqs
//                                                is installed)
//   node sqs-tool.mjs create-queue EP NAME [DLQ MAX_RECEIVES]   prints the queue URL
//   node sqs-tool.mjs seed EP QUEUE_URL N OUT_DIR                sends N seed-shaped
//        login events (every 10th malformed) and writes OUT_DIR/expected.tsv (the
//        rows user_logins must hold, by message id), OUT_DIR/malformed.txt (their
//        ids) and OUT_DIR/seed.env (counts and the send time window)
//   node sqs-tool.mjs count EP QUEUE_URL         prints "<visible> <in flight>"
//
// EP is the emulator's endpoint, e.g. http://127.0.0.1:4566. Exit status 1
// with a message on any failure.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [cmd, ...args] = process.argv.slice(2);

function die(msg) {
  process.stderr.write(`sqs-tool: ${msg}\n`);
  process.exit(1);
}

async function call(ep, op, body) {
  const res = await fetch(ep.replace(/\/$/, "") + "/", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.0",
      "X-Amz-Target": `AmazonSQS.${op}`,
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  if (res.status !== 200) die(`${op}: HTTP ${res.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

async function serve(portFile, wanted) {
  const dir = process.env.FAUXQS_DIR;
  if (!dir) die("FAUXQS_DIR is not set");
  const app = join(dir, "node_modules", "fauxqs", "dist", "app.js");
  const { buildApp } = await import(pathToFileURL(app).href);
  const { SqsStore } = await import(
    pathToFileURL(join(dir, "node_modules", "fauxqs", "dist", "sqs", "sqsStore.js")).href
  );
  // fauxqs returns expired in-flight messages to the queue lazily (on the
  // next receive); do it every 50 ms so that queue counts are current
  const sqsStore = new SqsStore();
  setInterval(() => sqsStore.processAllTimers(), 50).unref();
  // queue URLs name sqs.<region>.localhost, a host that does not resolve:
  // clients must use the endpoint override, as against a real emulator
  const server = buildApp({ logger: false, host: "localhost", stores: { sqsStore } });
  const address = await server.listen({ port: Number(wanted || 0), host: "127.0.0.1" });
  const port = new URL(address).port;
  writeFileSync(portFile + ".tmp", port + "\n");
  // rename is atomic: readers never see a half-written file
  const { renameSync } = await import("node:fs");
  renameSync(portFile + ".tmp", portFile);
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

async function createQueue(ep, name, dlq, maxReceives) {
  const attributes = {};
  if (dlq) {
    const d = await call(ep, "CreateQueue", { QueueName: dlq });
    const a = await call(ep, "GetQueueAttributes", {
      QueueUrl: d.QueueUrl,
      AttributeNames: ["QueueArn"],
    });
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: a.Attributes.QueueArn,
      maxReceiveCount: String(maxReceives || 2),
    });
  }
  const q = await call(ep, "CreateQueue", { QueueName: name, Attributes: attributes });
  process.stdout.write(q.QueueUrl + "\n");
}

// The seeds' login event, deterministic in i: a few users, devices and ips
// repeat so that surrogates are shared.
function event(i) {
  const hex = (n, w) => n.toString(16).padStart(w, "0");
  return {
    user_id: `${hex(0x424cdd21 + (i % 23), 8)}-063a-43a7-b91b-${hex(0x7ca1a833afae + (i % 23), 12)}`,
    app_version: ["2.3.0", "0.96", "4.10.2", "3"][i % 4],
    device_type: ["android", "ios"][i % 2],
    ip: `199.172.${111 + (i % 3)}.${(i * 7) % 11}`,
    locale: ["RU", "PH", "US", "BR", "ID"][i % 5],
    device_id: `${593 + (i % 13)}-47-5928`,
  };
}

async function seed(ep, queueUrl, n, outDir) {
  mkdirSync(outDir, { recursive: true });
  const rows = [];
  const malformed = [];
  const ips = new Set();
  const devices = new Set();
  const started = Date.now();
  for (let first = 0; first < n; first += 10) {
    const entries = [];
    const meta = [];
    for (let i = first; i < Math.min(n, first + 10); i++) {
      let body;
      if (i % 10 === 9) {
        body = i % 20 === 9 ? JSON.stringify({ foo: "oops_wrong_msg_format" }) : "not json, a login?";
        meta.push(null);
      } else {
        const e = event(i);
        body = JSON.stringify(e);
        meta.push(e);
      }
      entries.push({ Id: String(i - first), MessageBody: body });
    }
    const r = await call(ep, "SendMessageBatch", { QueueUrl: queueUrl, Entries: entries });
    if (r.Failed && r.Failed.length) die(`SendMessageBatch: ${JSON.stringify(r.Failed)}`);
    for (const ok of r.Successful) {
      const e = meta[Number(ok.Id)];
      if (!e) {
        malformed.push(ok.MessageId);
        continue;
      }
      ips.add(e.ip);
      devices.add(e.device_id);
      const major = parseInt(e.app_version, 10);
      rows.push(
        [ok.MessageId, e.user_id, e.device_type, e.ip, e.device_id, e.locale, e.app_version, major].join("\t"),
      );
    }
  }
  const finished = Date.now();
  rows.sort();
  malformed.sort();
  writeFileSync(join(outDir, "expected.tsv"), rows.join("\n") + (rows.length ? "\n" : ""));
  writeFileSync(join(outDir, "malformed.txt"), malformed.join("\n") + (malformed.length ? "\n" : ""));
  writeFileSync(
    join(outDir, "seed.env"),
    [
      `SEED_SENT=${n}`,
      `SEED_VALID=${rows.length}`,
      `SEED_MALFORMED=${malformed.length}`,
      `SEED_DISTINCT_IPS=${ips.size}`,
      `SEED_DISTINCT_DEVICES=${devices.size}`,
      `SEED_STARTED_MS=${started}`,
      `SEED_FINISHED_MS=${finished}`,
    ].join("\n") + "\n",
  );
  process.stdout.write(`sent ${n} messages (${malformed.length} malformed)\n`);
}

async function count(ep, queueUrl) {
  const a = await call(ep, "GetQueueAttributes", {
    QueueUrl: queueUrl,
    AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
  });
  process.stdout.write(
    `${a.Attributes.ApproximateNumberOfMessages} ${a.Attributes.ApproximateNumberOfMessagesNotVisible}\n`,
  );
}

try {
  switch (cmd) {
    case "serve":
      await serve(args[0] || die("serve PORT_FILE [PORT]"), args[1]);
      break;
    case "create-queue":
      await createQueue(args[0], args[1] || die("create-queue EP NAME [DLQ MAX]"), args[2], args[3]);
      break;
    case "seed":
      await seed(args[0], args[1], Number(args[2]), args[3] || die("seed EP URL N OUT_DIR"));
      break;
    case "count":
      await count(args[0], args[1] || die("count EP URL"));
      break;
    default:
      die("usage: serve | create-queue | seed | count (see the header)");
  }
} catch (e) {
  die(String(e && e.stack ? e.stack : e));
}

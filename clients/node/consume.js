#!/usr/bin/env node
// A consumer of a Flywheel topic that is not Python: kafkajs (pure JavaScript).
//
//   node consume.js --brokers host:port[,host:port] --topic T [--group G]
//                   [--idle-ms 3000] [--timeout-ms 30000]
//
// Reads T from the beginning to its end and prints each message value as one line on stdout
// (a newline inside a value becomes a space); logs go to stderr only. Exit 0 when done, 1 on an
// error, 2 when --timeout-ms passed before the end was reached, 64 on bad arguments.
//
// The end of a partition is its high watermark when the script starts: admin.fetchTopicOffsets
// (ListOffsets LATEST), raised to the high watermark of the partition's first Fetch response.
// Tansu (the embedded dev broker) answers ListOffsets LATEST with the base offset of the last
// record batch + 1, too small when that batch holds several records; its Fetch high watermark
// is right. If a partition still does not reach its end, the script stops anyway once no
// message arrived for --idle-ms (and says so on stderr), and at the latest after --timeout-ms.
//
// kafkajs has no consumer without a group: a random group id is used unless --group is given.
// No offset is committed, so a rerun reads the topic again.
import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";

// Tansu holds a JoinGroup for half the session timeout: keep it short (join in ~1.5 s). A
// rebalance after a missed heartbeat is harmless: records already printed are skipped.
const SESSION_TIMEOUT_MS = 3000;

function usage(error) {
  if (error) process.stderr.write(`consume.js: ${error}\n`);
  process.stderr.write(
    "usage: node consume.js --brokers host:port[,host:port] --topic T [--group G] " +
      "[--idle-ms 3000] [--timeout-ms 30000]\n",
  );
  process.exit(error ? 64 : 0);
}

function parseArgs(argv) {
  const opts = { brokers: "", topic: "", group: "", idleMs: 3000, timeoutMs: 30000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${arg}`);
      return argv[++i];
    };
    const number = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n <= 0) usage(`${arg} needs a positive number`);
      return n;
    };
    if (arg === "--brokers" || arg === "-b") opts.brokers = value();
    else if (arg === "--topic" || arg === "-t") opts.topic = value();
    else if (arg === "--group" || arg === "-g") opts.group = value();
    else if (arg === "--idle-ms") opts.idleMs = number();
    else if (arg === "--timeout-ms") opts.timeoutMs = number();
    else if (arg === "--help" || arg === "-h") usage();
    else usage(`unknown argument ${arg}`);
  }
  if (!opts.brokers || !opts.topic) usage("--brokers and --topic are required");
  return opts;
}

// kafkajs logs through console by default; keep stdout for the messages only.
const stderrLogger = () => ({ namespace, label, log }) => {
  const { message, ...extra } = log;
  process.stderr.write(`kafkajs ${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`);
};

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // Hard limit, also over connecting and disconnecting: the soft one below stops gracefully.
  setTimeout(() => {
    process.stderr.write(`consume.js: gave up after ${opts.timeoutMs + 5000} ms\n`);
    process.exit(2);
  }, opts.timeoutMs + 5000).unref();
  const kafka = new Kafka({
    clientId: "flywheel-node-consume",
    brokers: opts.brokers.split(","),
    logLevel: process.env.KAFKAJS_DEBUG ? logLevel.DEBUG : logLevel.ERROR,
    logCreator: stderrLogger,
    retry: { retries: 5 },
  });

  const admin = kafka.admin();
  await admin.connect();
  let offsets;
  try {
    offsets = await admin.fetchTopicOffsets(opts.topic);
  } finally {
    await admin.disconnect();
  }
  const end = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  const pending = new Set(
    offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => o.partition),
  );
  const fetched = new Set(); // partitions whose end was raised by a Fetch high watermark
  const seen = new Set(); // "partition:offset" already printed
  let count = 0;

  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  let idleTimer = null;
  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => finish("idle"), opts.idleMs);
  };
  const overall = setTimeout(() => finish("timeout"), opts.timeoutMs);

  let consumer = null;
  if (pending.size === 0) {
    finish("end"); // empty topic
  } else {
    consumer = kafka.consumer({
      groupId: opts.group || `flywheel-node-${randomUUID()}`,
      sessionTimeout: SESSION_TIMEOUT_MS,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, armIdle);
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        const p = batch.partition;
        if (!fetched.has(p)) {
          fetched.add(p);
          const hw = BigInt(batch.highWatermark);
          if (hw > (end.get(p) ?? 0n)) end.set(p, hw);
        }
        for (const message of batch.messages) {
          const key = `${p}:${message.offset}`;
          if (!seen.has(key)) {
            seen.add(key);
            const value = message.value === null ? "" : message.value.toString("utf8");
            process.stdout.write(value.replace(/\r?\n/g, " ") + "\n");
            count++;
          }
          resolveOffset(message.offset);
          if (BigInt(message.offset) + 1n >= (end.get(p) ?? 0n)) pending.delete(p);
        }
        armIdle();
        if (pending.size === 0) finish("end");
        await heartbeat();
      },
    });
  }

  const reason = await done;
  clearTimeout(overall);
  clearTimeout(idleTimer);
  if (consumer) await consumer.disconnect();
  const ends = [...end].map(([p, h]) => `${p}:${h}`).join(",");
  const unreached = [...pending].join(",");
  process.stderr.write(
    `consume.js: ${count} messages from ${opts.topic} (ends ${ends}; stopped: ${reason}` +
      (unreached ? `; partitions not at their end: ${unreached}` : "") +
      ")\n",
  );
  if (reason === "timeout" && pending.size > 0) process.exitCode = 2;
}

main().catch((err) => {
  const detail = process.env.KAFKAJS_DEBUG && err && err.stack ? err.stack : `${err}`;
  process.stderr.write(`consume.js: ${detail}\n`);
  process.exit(1);
});

import * as assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { PaymentFaultService } from "@tourmesh/gen/tourmesh/payment/v1/payment_faults_pb.js";
import { PaymentService, PaymentStatus } from "@tourmesh/gen/tourmesh/payment/v1/payment_pb.js";
import { createClient, REPOSITORY_FLAGS_FILE, type ServiceClient } from "@tourmesh/platform";
import {
  callFailure,
  copyFlagFile,
  createTestDatabase,
  type FlagFileCopy,
  type TestDatabase,
  waitFor,
} from "@tourmesh/platform/testing";
import type { ServiceProcess } from "@tourmesh/stack";
import { startService } from "@tourmesh/stack/testing";
import { chargeOutcome, noFaults } from "./faults.js";

const eur = (minorUnits: number) => ({ currencyCode: "EUR", minorUnits: BigInt(minorUnits) });

interface PaymentProcess {
  db: TestDatabase;
  service: ServiceProcess;
  payments: ServiceClient<typeof PaymentService>;
  faults: ServiceClient<typeof PaymentFaultService>;
  stop(): Promise<void>;
}

async function startPayment(env: Record<string, string> = {}): Promise<PaymentProcess> {
  const db = await createTestDatabase("payment");
  let service: ServiceProcess;
  try {
    service = await startService("payment", { DATABASE_URL: db.url, ...env });
  } catch (error) {
    await db.drop();
    throw error;
  }
  const address = `127.0.0.1:${service.port}`;
  // No transport retries: the tests want to see each UNAVAILABLE.
  const payments = createClient(PaymentService, address, { retries: false });
  const faults = createClient(PaymentFaultService, address, { retries: false });
  return {
    db,
    service,
    payments,
    faults,
    async stop() {
      payments.close();
      faults.close();
      await service.stop();
      await db.drop();
    },
  };
}

describe("payment service", () => {
  let payment: PaymentProcess;
  before(async () => {
    payment = await startPayment();
  });
  after(() => payment?.stop());

  const paymentCount = async () =>
    Number((await payment.db.query<{ n: string }>("SELECT count(*) AS n FROM payments"))[0]?.n);

  it("charges, and GetPayment returns the payment", async () => {
    const { payment: charged } = await payment.payments.charge({
      idempotencyKey: "charge-1",
      bookingId: "bkg_1",
      amount: eur(12_950),
    });
    assert.ok(charged);
    assert.equal(charged.status, PaymentStatus.SUCCEEDED);
    assert.equal(charged.bookingId, "bkg_1");
    assert.equal(charged.amount?.minorUnits, 12_950n);
    assert.equal(charged.declineReason, "");
    const { payment: got } = await payment.payments.getPayment({ paymentId: charged.paymentId });
    assert.deepEqual(got, charged);
  });

  it("charges once per idempotency key, also for 10 concurrent calls", async () => {
    const request = { idempotencyKey: "charge-concurrent", bookingId: "bkg_2", amount: eur(5_000) };
    const answers = await Promise.all(Array.from({ length: 10 }, () => payment.payments.charge(request)));
    const ids = new Set(answers.map((answer) => answer.payment?.paymentId));
    assert.equal(ids.size, 1);
    const again = await payment.payments.charge(request);
    assert.ok(ids.has(again.payment?.paymentId));
    const rows = await payment.db.query("SELECT payment_id FROM payments WHERE idempotency_key = $1", [
      request.idempotencyKey,
    ]);
    assert.equal(rows.length, 1);
  });

  it("refuses a replayed key with another booking or amount, and writes nothing", async () => {
    await payment.payments.charge({ idempotencyKey: "charge-3", bookingId: "bkg_3", amount: eur(1_000) });
    const before = await paymentCount();
    for (const changed of [
      { bookingId: "bkg_other", amount: eur(1_000) },
      { bookingId: "bkg_3", amount: eur(1_001) },
      { bookingId: "bkg_3", amount: { currencyCode: "USD", minorUnits: 1_000n } },
    ]) {
      const failure = await callFailure(payment.payments.charge({ idempotencyKey: "charge-3", ...changed }));
      assert.equal(failure.code, Code.AlreadyExists);
      assert.match(failure.message, /idempotency key charge-3 was already used/);
    }
    assert.equal(await paymentCount(), before);
  });

  it("refunds a payment once: replays by key, refuses a second refund and a refund of a declined charge", async () => {
    const { payment: charged } = await payment.payments.charge({
      idempotencyKey: "charge-4",
      bookingId: "bkg_4",
      amount: eur(7_000),
    });
    const paymentId = charged?.paymentId ?? "";
    const { payment: refunded } = await payment.payments.refund({ paymentId, idempotencyKey: "refund-4" });
    assert.equal(refunded?.status, PaymentStatus.REFUNDED);
    assert.ok(refunded?.refundTime);
    const { payment: replayed } = await payment.payments.refund({ paymentId, idempotencyKey: "refund-4" });
    assert.deepEqual(replayed, refunded);

    const second = await callFailure(payment.payments.refund({ paymentId, idempotencyKey: "refund-4b" }));
    assert.equal(second.code, Code.FailedPrecondition);

    const { payment: other } = await payment.payments.charge({
      idempotencyKey: "charge-5",
      bookingId: "bkg_5",
      amount: eur(7_000),
    });
    const reusedKey = await callFailure(
      payment.payments.refund({ paymentId: other?.paymentId ?? "", idempotencyKey: "refund-4" }),
    );
    assert.equal(reusedKey.code, Code.AlreadyExists);
    assert.equal(
      (await payment.payments.getPayment({ paymentId: other?.paymentId ?? "" })).payment?.status,
      1,
    );

    await payment.faults.setFaults({ declineRate: 1 });
    try {
      const { payment: declined } = await payment.payments.charge({
        idempotencyKey: "charge-6",
        bookingId: "bkg_6",
        amount: eur(7_000),
      });
      assert.equal(declined?.status, PaymentStatus.DECLINED);
      const refundDeclined = await callFailure(
        payment.payments.refund({ paymentId: declined?.paymentId ?? "", idempotencyKey: "refund-6" }),
      );
      assert.equal(refundDeclined.code, Code.FailedPrecondition);
      assert.match(refundDeclined.message, /declined/);
    } finally {
      await payment.faults.setFaults({ declineRate: 0 });
    }

    const missing = await callFailure(
      payment.payments.refund({ paymentId: "pay_nope", idempotencyKey: "r" }),
    );
    assert.equal(missing.code, Code.NotFound);
    assert.deepEqual(missing.fields, ["payment_id"]);
  });

  it("publishes one event per new charge and per refund through its outbox, none for a replay", async () => {
    await payment.faults.setFaults({ declineRate: 0 });
    const { payment: charged } = await payment.payments.charge({
      idempotencyKey: "events-1",
      bookingId: "bkg_events",
      amount: eur(4_200),
    });
    await payment.payments.charge({
      idempotencyKey: "events-1",
      bookingId: "bkg_events",
      amount: eur(4_200),
    });
    const paymentId = charged?.paymentId ?? "";
    await payment.payments.refund({ paymentId, idempotencyKey: "events-refund-1" });
    await payment.payments.refund({ paymentId, idempotencyKey: "events-refund-1" });
    await payment.faults.setFaults({ declineRate: 1 });
    let declinedId = "";
    try {
      const { payment: declined } = await payment.payments.charge({
        idempotencyKey: "events-2",
        bookingId: "bkg_events_declined",
        amount: eur(4_200),
      });
      declinedId = declined?.paymentId ?? "";
    } finally {
      await payment.faults.setFaults({ declineRate: 0 });
    }
    const events = () =>
      payment.db.query<{ aggregate_id: string; subject: string; event_type: string; published: boolean }>(
        `SELECT aggregate_id, subject, event_type, published_at IS NOT NULL AS published FROM outbox
          WHERE aggregate_id = ANY($1) ORDER BY position`,
        [[paymentId, declinedId]],
      );
    for (let tries = 0; (await events()).some((event) => !event.published); tries++) {
      assert.ok(tries < 100, "the relay never published the events");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(
      (await events()).map(({ aggregate_id, subject, event_type }) => [aggregate_id, subject, event_type]),
      [
        [paymentId, "payment.succeeded", "tourmesh.events.v1.PaymentSucceeded"],
        [paymentId, "payment.refunded", "tourmesh.events.v1.PaymentRefunded"],
        [declinedId, "payment.failed", "tourmesh.events.v1.PaymentFailed"],
      ],
    );
  });

  it("answers bad input with INVALID_ARGUMENT naming each bad field, and writes nothing", async () => {
    const before = await paymentCount();
    const cases: Array<[() => Promise<unknown>, string[]]> = [
      [() => payment.payments.charge({}), ["amount", "booking_id", "idempotency_key"]],
      [
        () =>
          payment.payments.charge({
            idempotencyKey: "k".repeat(129),
            bookingId: "bkg",
            amount: { currencyCode: "eur", minorUnits: 0n },
          }),
        ["amount.currency_code", "amount.minor_units", "idempotency_key"],
      ],
      [
        () => payment.payments.charge({ idempotencyKey: "k", bookingId: "bkg", amount: eur(-5) }),
        ["amount.minor_units"],
      ],
      [
        () => payment.payments.charge({ idempotencyKey: "k", bookingId: "bkg", amount: eur(10 ** 13) }),
        ["amount.minor_units"],
      ],
      [() => payment.payments.refund({}), ["idempotency_key", "payment_id"]],
      [() => payment.payments.getPayment({}), ["payment_id"]],
      [
        () => payment.faults.setFaults({ declineRate: -0.1, latencyMs: 70_000 }),
        ["decline_rate", "latency_ms"],
      ],
    ];
    for (const [call, fields] of cases) {
      const failure = await callFailure(call());
      assert.equal(failure.code, Code.InvalidArgument);
      assert.deepEqual(failure.fields, fields);
    }
    assert.equal(await paymentCount(), before);
    // The refused SetFaults changed nothing.
    const { faults } = await payment.faults.getFaults({});
    assert.deepEqual({ ...faults, $typeName: undefined }, { ...noFaults, $typeName: undefined });
  });

  it("fails every call UNAVAILABLE during an outage set at run time, writing nothing, and recovers", async () => {
    const { faults } = await payment.faults.setFaults({ outage: true });
    assert.equal(faults?.outage, true);
    const before = await paymentCount();
    try {
      const request = { idempotencyKey: "charge-outage", bookingId: "bkg_7", amount: eur(3_000) };
      assert.equal((await callFailure(payment.payments.charge(request))).code, Code.Unavailable);
      assert.equal(
        (await callFailure(payment.payments.getPayment({ paymentId: "x" }))).code,
        Code.Unavailable,
      );
      assert.equal(
        (await callFailure(payment.payments.refund({ paymentId: "x", idempotencyKey: "y" }))).code,
        Code.Unavailable,
      );
      assert.equal(await paymentCount(), before);
    } finally {
      await payment.faults.setFaults({ outage: false });
    }
    const { payment: charged } = await payment.payments.charge({
      idempotencyKey: "charge-outage",
      bookingId: "bkg_7",
      amount: eur(3_000),
    });
    assert.equal(charged?.status, PaymentStatus.SUCCEEDED);
  });

  it("adds latency at run time; a charge whose caller gave up still lands once and replays", async () => {
    await payment.faults.setFaults({ latencyMs: 600 });
    const request = { idempotencyKey: "charge-slow", bookingId: "bkg_8", amount: eur(4_000) };
    try {
      const timedOut = await callFailure(payment.payments.charge(request, { timeoutMs: 150 }));
      assert.equal(timedOut.code, Code.DeadlineExceeded);
    } finally {
      await payment.faults.setFaults({ latencyMs: 0 });
    }
    // The slow charge completes on the server after the caller left; poll until it has.
    let rows: unknown[] = [];
    for (let tries = 0; tries < 50 && rows.length === 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await payment.db.query("SELECT 1 FROM payments WHERE idempotency_key = $1", [
        request.idempotencyKey,
      ]);
    }
    assert.equal(rows.length, 1);
    const { payment: replayed } = await payment.payments.charge(request);
    assert.equal(replayed?.status, PaymentStatus.SUCCEEDED);
    const all = await payment.db.query("SELECT 1 FROM payments WHERE booking_id = 'bkg_8'");
    assert.equal(all.length, 1);
  });

  it("declines deterministically under a seed set at run time, as the decision function says", async () => {
    const seeded = { ...noFaults, declineRate: 0.5, seed: "tourmesh-chaos" };
    await payment.faults.setFaults({ declineRate: seeded.declineRate, seed: seeded.seed });
    try {
      const keys = Array.from({ length: 40 }, (_, index) => `seeded-${index}`);
      const outcomes = await Promise.all(
        keys.map(async (key) => {
          const { payment: charged } = await payment.payments.charge({
            idempotencyKey: key,
            bookingId: `bkg_${key}`,
            amount: eur(1_000),
          });
          return charged?.status === PaymentStatus.DECLINED;
        }),
      );
      const expected = keys.map((key) => chargeOutcome(seeded, key).declined);
      assert.deepEqual(outcomes, expected);
      assert.ok(outcomes.includes(true) && outcomes.includes(false), "a 0.5 rate gave a mixed result");
    } finally {
      await payment.faults.setFaults({ declineRate: 0, seed: "" });
    }
  });
});

describe("payment faults from the environment", () => {
  it("starts with the PAYMENT_* settings: a seeded decline rate gives the same answers in a new process", async () => {
    const env = { PAYMENT_DECLINE_RATE: "0.5", PAYMENT_FAULT_SEED: "from-env", PAYMENT_LATENCY_MS: "5" };
    const keys = Array.from({ length: 20 }, (_, index) => `env-${index}`);
    const runOnce = async () => {
      const payment = await startPayment(env);
      try {
        const { faults } = await payment.faults.getFaults({});
        assert.equal(faults?.declineRate, 0.5);
        assert.equal(faults?.seed, "from-env");
        assert.equal(faults?.latencyMs, 5);
        assert.equal(faults?.outage, false);
        const declined: Array<[string, string]> = [];
        for (const key of keys) {
          const { payment: charged } = await payment.payments.charge({
            idempotencyKey: key,
            bookingId: "bkg_env",
            amount: eur(2_500),
          });
          if (charged?.status === PaymentStatus.DECLINED) declined.push([key, charged.declineReason]);
        }
        return declined;
      } finally {
        await payment.stop();
      }
    };
    const first = await runOnce();
    assert.ok(first.length > 0 && first.length < keys.length);
    assert.deepEqual(await runOnce(), first);
  });

  it("starts in an outage with PAYMENT_OUTAGE=true", async () => {
    const payment = await startPayment({ PAYMENT_OUTAGE: "true" });
    try {
      const failure = await callFailure(
        payment.payments.charge({ idempotencyKey: "k", bookingId: "b", amount: eur(100) }),
      );
      assert.equal(failure.code, Code.Unavailable);
    } finally {
      await payment.stop();
    }
  });
});

describe("payment faults from the flags, for every replica at once", () => {
  let flags: FlagFileCopy;
  let replicas: PaymentProcess[] = [];
  before(async () => {
    flags = await copyFlagFile();
    // Two replicas on one database, as in the cluster: one flag file drives both.
    const first = await startPayment(flags.env);
    const second = await startService("payment", { DATABASE_URL: first.db.url, ...flags.env });
    const address = `127.0.0.1:${second.port}`;
    const payments = createClient(PaymentService, address, { retries: false });
    const faults = createClient(PaymentFaultService, address, { retries: false });
    replicas = [
      first,
      {
        db: first.db,
        service: second,
        payments,
        faults,
        async stop() {
          payments.close();
          faults.close();
          await second.stop();
        },
      },
    ];
  });
  after(async () => {
    for (const replica of replicas.reverse()) await replica.stop();
    await flags?.remove();
  });

  const charge = (replica: PaymentProcess, key: string) =>
    replica.payments.charge({ idempotencyKey: key, bookingId: `bkg_${key}`, amount: eur(1_000) });
  /** The status of a new charge, or undefined when the call failed. */
  const newChargeStatus = async (replica: PaymentProcess, what: string) => {
    try {
      return (await charge(replica, `${what}-${randomUUID()}`)).payment?.status;
    } catch {
      return undefined;
    }
  };
  /** Waits (at most 2 s from the flip) until every replica behaves as `check` says. */
  const everyReplica = (what: string, check: (replica: PaymentProcess) => Promise<boolean>) =>
    waitFor(what, async () => (await Promise.all(replicas.map(check))).every(Boolean), 2_000);

  it("goes down and comes back on every replica when payment-outage flips, with no restart", async () => {
    await flags.serve("payment-outage", "on");
    await everyReplica("the outage", async (replica) => {
      const failure = await callFailure(charge(replica, `outage-${randomUUID()}`)).catch(() => undefined);
      return failure?.code === Code.Unavailable;
    });
    const { faults } = (await replicas[0]?.faults.getFaults({})) ?? {};
    assert.equal(faults?.outage, true, "GetFaults shows the faults in force");
    await flags.serve("payment-outage", "off");
    await everyReplica(
      "the recovery",
      async (replica) => (await newChargeStatus(replica, "back")) === PaymentStatus.SUCCEEDED,
    );
    for (const replica of replicas) assert.equal(replica.service.restarts(), 0);
  });

  it("declines every charge when payment-decline-rate serves all, and none when it serves none", async () => {
    await flags.serve("payment-decline-rate", "all");
    await everyReplica(
      "the declines",
      async (replica) => (await newChargeStatus(replica, "decline")) === PaymentStatus.DECLINED,
    );
    await flags.serve("payment-decline-rate", "none");
    await everyReplica(
      "no declines",
      async (replica) => (await newChargeStatus(replica, "accept")) === PaymentStatus.SUCCEEDED,
    );
  });

  it("slows every call when payment-latency-ms serves slow", async () => {
    const took = async (replica: PaymentProcess) => {
      const started = performance.now();
      await replica.payments.getPayment({ paymentId: "pay_none" }).catch(() => undefined);
      return performance.now() - started;
    };
    await flags.serve("payment-latency-ms", "slow");
    await everyReplica("the latency", async (replica) => (await took(replica)) >= 500);
    await flags.serve("payment-latency-ms", "none");
    await everyReplica("no latency", async (replica) => (await took(replica)) < 500);
  });

  it("keeps its faults when the flag file breaks, and reports it", async () => {
    await flags.serve("payment-outage", "on");
    await everyReplica(
      "the outage",
      async (replica) => (await replica.faults.getFaults({})).faults?.outage === true,
    );
    const errorsBefore = replicas.map((replica) => replica.service.errorLines());
    await flags.write('{ "flags": { "payment-outage": ');
    await everyReplica("the report", async (replica) =>
      replica.service.logs.some(
        (line) =>
          line.msg === "feature flag file refused; the flags in force are kept" && line.level === "error",
      ),
    );
    for (const [index, replica] of replicas.entries()) {
      assert.ok(replica.service.errorLines() > (errorsBefore[index] ?? 0));
      const metrics = await (await fetch(`http://127.0.0.1:${replica.service.metricsPort}/metrics`)).text();
      assert.match(metrics, /^feature_flag_definitions_valid 0$/m);
      assert.equal((await callFailure(charge(replica, `still-down-${randomUUID()}`))).code, Code.Unavailable);
    }
    await flags.write(readFileSync(REPOSITORY_FLAGS_FILE, "utf8"));
    await everyReplica(
      "the repaired file",
      async (replica) => (await replica.faults.getFaults({})).faults?.outage === false,
    );
  });

  it("adds the flags' faults to a replica's own: the worse of the two is in force", async () => {
    const [first, second] = replicas;
    assert.ok(first && second);
    await first.faults.setFaults({ latencyMs: 5 });
    try {
      await flags.serve("payment-decline-rate", "half");
      await everyReplica(
        "half declined",
        async (replica) => (await replica.faults.getFaults({})).faults?.declineRate === 0.5,
      );
      const own = await first.faults.setFaults({ declineRate: 0.1 });
      assert.deepEqual([own.faults?.declineRate, own.faults?.latencyMs], [0.5, 5]);
      assert.equal(
        (await second.faults.getFaults({})).faults?.latencyMs,
        0,
        "a replica's own faults stay its own",
      );
    } finally {
      await first.faults.setFaults({ latencyMs: 0, declineRate: 0 });
      await flags.serve("payment-decline-rate", "none");
    }
  });
});

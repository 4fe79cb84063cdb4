import { type JetStreamManager, RetentionPolicy, StorageType } from "nats";

/** Where a service's events live: the stream, its subject prefix, and the streams that hold dead letters. */
export interface EventStreams {
  /** The event stream, e.g. TOURMESH, capturing `<subjectPrefix>.>`. */
  stream: string;
  /** e.g. "tourmesh": subjects are `tourmesh.<aggregate>.<event>`. */
  subjectPrefix: string;
  /** Messages that exhausted their deliveries, as `<subjectPrefix>_dlq.<consumer>.<original subject>`. */
  deadLetterStream: string;
  deadLetterPrefix: string;
  /** JetStream's MAX_DELIVERIES advisories for the event stream, kept so that none is lost while a service is down. */
  advisoryStream: string;
}

export function eventStreams(stream: string, subjectPrefix: string): EventStreams {
  return {
    stream,
    subjectPrefix,
    deadLetterStream: `${stream}_DLQ`,
    deadLetterPrefix: `${subjectPrefix}_dlq`,
    advisoryStream: `${stream}_ADVISORIES`,
  };
}

export function maxDeliveriesAdvisorySubject(stream: string, consumer = "*"): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`;
}

/** How long JetStream remembers a Nats-Msg-Id to drop a republished duplicate. */
const DUPLICATE_WINDOW_NS = 2 * 60 * 1_000_000_000;
const DAY_NS = 24 * 60 * 60 * 1_000_000_000;

/** Creates the streams when missing, and brings an existing one's settings up to date; safe to run at every start. */
export async function ensureStreams(jsm: JetStreamManager, streams: EventStreams): Promise<void> {
  const wanted = [
    {
      name: streams.stream,
      subjects: [`${streams.subjectPrefix}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: DUPLICATE_WINDOW_NS,
      max_age: 7 * DAY_NS,
    },
    {
      name: streams.deadLetterStream,
      subjects: [`${streams.deadLetterPrefix}.>`],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      duplicate_window: DUPLICATE_WINDOW_NS,
      max_age: 30 * DAY_NS,
    },
    {
      name: streams.advisoryStream,
      subjects: [maxDeliveriesAdvisorySubject(streams.stream, ">")],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: 30 * DAY_NS,
    },
  ];
  for (const config of wanted) {
    try {
      const existing = await jsm.streams.info(config.name);
      await jsm.streams.update(config.name, { ...existing.config, ...config });
    } catch (error) {
      if (!/stream not found/i.test(String(error))) throw error;
      await jsm.streams.add(config).catch((addError: unknown) => {
        // Another replica created it between our lookup and our add.
        if (!/already in use|exists/i.test(String(addError))) throw addError;
      });
    }
  }
}

import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { type MsgHdrs, headers as natsHeaders } from "nats";

/** An event as a service records it: a protobuf message, where it goes, and which aggregate it is about. */
export interface NewEvent<D extends DescMessage> {
  /** Subject relative to the stream's prefix, e.g. "booking.confirmed" → "tourmesh.booking.confirmed". */
  subject: string;
  schema: D;
  message: MessageInitShape<D>;
  /** Events of one aggregate (e.g. one booking) are published in the order they were recorded. */
  aggregateId: string;
}

/**
 * The CloudEvents attributes of an event as they travel (binary content mode): each attribute is a header
 * and the payload is the protobuf message in binary.
 */
export const eventHeader = {
  specVersion: "ce-specversion",
  id: "ce-id",
  /** The full protobuf message name, e.g. "tourmesh.events.v1.BookingConfirmed". */
  type: "ce-type",
  /** The service that emitted it, e.g. "booking". */
  source: "ce-source",
  /** When the event was recorded, RFC 3339. */
  time: "ce-time",
  /** The aggregate the event is about, e.g. a booking id. */
  subject: "ce-subject",
  contentType: "content-type",
} as const;

export const PROTOBUF_CONTENT_TYPE = "application/protobuf";
/** The header JetStream drops duplicates by, within the stream's duplicate window. */
export const MESSAGE_ID_HEADER = "Nats-Msg-Id";

/** What a consumer learns about a delivered event from its headers. */
export interface EventAttributes {
  id: string;
  type: string;
  source: string;
  time: Date;
  aggregateId: string;
}

export interface EventHeaderValues extends EventAttributes {
  /** traceparent / tracestate of the change that recorded the event (or of the relay's publish span). */
  trace: Record<string, string>;
}

export function eventHeaders(values: EventHeaderValues): MsgHdrs {
  const headers = natsHeaders();
  headers.set(eventHeader.specVersion, "1.0");
  headers.set(eventHeader.id, values.id);
  headers.set(eventHeader.type, values.type);
  headers.set(eventHeader.source, values.source);
  headers.set(eventHeader.time, values.time.toISOString());
  headers.set(eventHeader.subject, values.aggregateId);
  headers.set(eventHeader.contentType, PROTOBUF_CONTENT_TYPE);
  for (const [key, value] of Object.entries(values.trace)) headers.set(key, value);
  return headers;
}

/** Reads the CloudEvents attributes; an event without an id or a type cannot be handled. */
export function readEventAttributes(headers: MsgHdrs | undefined): EventAttributes {
  const get = (name: string) => headers?.get(name) ?? "";
  const id = get(eventHeader.id);
  const type = get(eventHeader.type);
  if (id === "" || type === "")
    throw new Error(`the message has no ${id === "" ? "ce-id" : "ce-type"} header`);
  const time = new Date(get(eventHeader.time));
  return {
    id,
    type,
    source: get(eventHeader.source),
    time: Number.isNaN(time.getTime()) ? new Date(0) : time,
    aggregateId: get(eventHeader.subject),
  };
}

/** The headers as a plain carrier for OpenTelemetry's propagation.extract. */
export function headerCarrier(headers: MsgHdrs | undefined): Record<string, string> {
  const carrier: Record<string, string> = {};
  for (const key of headers?.keys() ?? []) carrier[key.toLowerCase()] = headers?.get(key) ?? "";
  return carrier;
}

export { type BookingStack, startBookingStack } from "./booking-stack.js";
export { cacheRequests } from "./cache-requests.js";
export { codeName, type RawAnswer, type RawCaller, rawCaller, type WireProtocol } from "./raw-calls.js";
export { startService } from "./service.js";

export { type BookingStack, startBookingStack } from "./booking-stack.js";
export { startService } from "./service.js";

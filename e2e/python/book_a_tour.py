"""A Python gRPC client of tourmesh: signs in and books a tour through the gateway over gRPC (h2c).

Its stubs are generated from proto/ at test time (see python-client.spec.ts), as any team in another
language would. Prints the booking as JSON.

    python3 book_a_tour.py <generated stubs dir> <gateway host:port>
"""

import json
import sys
import uuid

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from tourmesh.booking.v1 import booking_pb2, booking_pb2_grpc  # noqa: E402
from tourmesh.catalog.v1 import catalog_pb2, catalog_pb2_grpc  # noqa: E402
from tourmesh.identity.v1 import identity_pb2, identity_pb2_grpc  # noqa: E402


def main() -> None:
    with grpc.insecure_channel(sys.argv[2]) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        identity = identity_pb2_grpc.IdentityServiceStub(channel)
        signed_in = identity.SignIn(
            identity_pb2.SignInRequest(username="bob", password="tourmesh-demo"), timeout=10
        )
        auth = (("authorization", f"Bearer {signed_in.access_token}"),)

        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        tours = catalog.ListTours(catalog_pb2.ListToursRequest(destination="Lisbon", available_only=True), timeout=10)
        tour = tours.tours[0]

        bookings = booking_pb2_grpc.BookingServiceStub(channel)
        created = bookings.CreateBooking(
            booking_pb2.CreateBookingRequest(
                idempotency_key=str(uuid.uuid4()), tour_id=tour.tour_id, travelers=3, country_code="PT"
            ),
            metadata=auth,
            timeout=10,
        )
        read_back = bookings.GetBooking(
            booking_pb2.GetBookingRequest(booking_id=created.booking.booking_id), metadata=auth, timeout=10
        )
        try:
            bookings.ListBookings(booking_pb2.ListBookingsRequest(), timeout=10)
            unauthenticated = None
        except grpc.RpcError as error:
            unauthenticated = error.code().name

        print(
            json.dumps(
                {
                    "tour_id": tour.tour_id,
                    "booking_id": read_back.booking.booking_id,
                    "status": booking_pb2.BookingStatus.Name(read_back.booking.status),
                    "travelers": read_back.booking.travelers,
                    "total_minor_units": read_back.booking.quote.total.minor_units,
                    "without_token": unauthenticated,
                }
            )
        )


if __name__ == "__main__":
    main()

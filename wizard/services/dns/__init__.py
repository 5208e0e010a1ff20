"""DNS checks, the DNS client and SPF evaluation (services: I/O, no Qt)."""

import dns._features

# We ask over UDP and TCP only. dnspython imports its DNS-over-HTTPS stack (an HTTP
# client, HTTP/2, TLS streams) whenever that is installed, a fifth of check-dns's
# start; its documented switch turns the feature off before `dns.query` is imported.
dns._features.force("doh", False)

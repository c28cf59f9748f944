"""HTTP-level toxics: an extension of the embedded proxy that Toxiproxy does not have.

Toxiproxy's toxics act on bytes; these act on HTTP/1.1 exchanges (keep-alive connections,
several requests per connection, ``Content-Length`` and chunked bodies), the faults its most
asked-for feature request (Shopify/toxiproxy#50) describes:

* ``http_error`` -- answer a share of requests with ``status`` (and ``body``) without forwarding
  them: a load balancer's 503, a rate limiter's 429.
* ``http_drop_response`` -- forward the request, let the service do the work, then replace its
  response with ``status`` (0: cut the connection): the lost acknowledgement.
* ``http_delay`` -- hold each request (``stream`` upstream) or response (downstream) ``delay``
  milliseconds.

They are created through the same toxics API and take ``toxicity`` (per request) and the server's
seed like every toxic. ``framing`` reads the messages, ``exchange`` is what the three share, and
each toxic's own choice is its module (``error``, ``drop_response``, ``delay``).
"""

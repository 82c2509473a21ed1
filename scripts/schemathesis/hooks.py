"""Schemathesis hooks for Keyway's contract run (loaded through SCHEMATHESIS_HOOKS).

`POST /api/v1/plugins` takes a component's bytes as `application/wasm`, a media type
schemathesis has no serializer for; without one it reports the operation as untestable.
"""

import os

import schemathesis


@schemathesis.serializer("application/wasm")
def wasm(ctx, value):
    # The schema says `format: binary`, so the generated value is bytes already; anything
    # else (a string from an example) is sent as its UTF-8 bytes.
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return str(value).encode()


# `seeded id=spare id` pairs, comma-separated, from scripts/schemathesis.sh.
_SPARES = dict(pair.split("=", 1) for pair in os.environ["KEYWAY_ST_SPARES"].split(","))


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # The run deletes what it finds. Deleting the admin key it authenticates with would turn
    # every later call into a 401 (an admin may revoke its own key once another admin key
    # exists, and the stateful phase finds that sequence), and deleting the seeded connection
    # or integration would leave the operations on them only 404s. So a deletion of a seeded
    # resource is pointed at a spare seeded for the purpose: DELETE is still exercised, on a
    # resource that exists.
    if case.method.upper() != "DELETE" or not case.path_parameters:
        return
    for name, value in list(case.path_parameters.items()):
        if value in _SPARES:
            case.path_parameters[name] = _SPARES[value]

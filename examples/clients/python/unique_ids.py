# An exec client for the `unique-ids` workload: each generate returns a
# new id, here from a counter advanced in a transaction.
from toyexec import call, serve


def perform(f, key, value):
    if f != "generate":
        raise ValueError("not a unique-ids op: %s" % f)
    call("begin")
    id = call("get", key="next id") or 0
    call("put", key="next id", value=id + 1)
    call("commit")
    return {"type": "ok", "value": id}


serve(perform)

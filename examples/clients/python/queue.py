# An exec client for the `queue` and `total-queue` workloads: enqueue,
# dequeue (an empty queue is a fail), drain everything left.
from toyexec import call, serve


def perform(f, key, value):
    call("begin")
    items = call("get", key="queue") or []
    if f == "enqueue":
        call("put", key="queue", value=items + [value])
        call("commit")
        return {"type": "ok"}
    if f == "dequeue":
        if not items:
            call("abort")
            return {"type": "fail", "error": "empty"}
        call("put", key="queue", value=items[1:])
        call("commit")
        return {"type": "ok", "value": items[0]}
    if f == "drain":
        call("put", key="queue", value=[])
        call("commit")
        return {"type": "ok", "value": items}
    call("abort")
    raise ValueError("not a queue op: %s" % f)


serve(perform)

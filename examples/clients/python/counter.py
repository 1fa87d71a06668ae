# An exec client for the `counter` workload: add to one counter, read it.
from toyexec import call, serve


def perform(f, key, value):
    if f == "add":
        call("begin")
        call("put", key="counter", value=(call("get", key="counter") or 0) + value)
        call("commit")
        return {"type": "ok"}
    if f == "read":
        return {"type": "ok", "value": call("get", key="counter") or 0}
    raise ValueError("not a counter op: %s" % f)


serve(perform)

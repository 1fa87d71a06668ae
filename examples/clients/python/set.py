# An exec client for the `set` workload: add elements, read them all.
from toyexec import call, serve


def perform(f, key, value):
    if f == "add":
        call("begin")
        call("put", key="set", value=(call("get", key="set") or []) + [value])
        call("commit")
        return {"type": "ok"}
    if f == "read":
        return {"type": "ok", "value": call("get", key="set") or []}
    raise ValueError("not a set op: %s" % f)


serve(perform)

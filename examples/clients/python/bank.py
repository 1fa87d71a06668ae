# An exec client for the `bank` workload: accounts created by `init`,
# `transfer` between two of them (never below zero), `read` of every balance.
from toyexec import call, serve


def perform(f, key, value):
    call("begin")
    if f == "init":  # {"0": 10, ...}: create the accounts that do not exist yet
        for account, balance in value.items():
            if call("get", key="account " + account) is None:
                call("put", key="account " + account, value=balance)
        call("put", key="accounts", value=sorted(value))
        call("commit")
        return {"type": "ok"}
    if f == "transfer":
        source, dest = "account %s" % value["from"], "account %s" % value["to"]
        have, other = call("get", key=source), call("get", key=dest)
        if have is None or other is None or have < value["amount"]:
            call("abort")
            return {"type": "fail", "error": "no such account or not enough money"}
        call("put", key=source, value=have - value["amount"])
        call("put", key=dest, value=other + value["amount"])
        call("commit")
        return {"type": "ok"}
    if f == "read":
        balances = {a: call("get", key="account " + a) for a in call("get", key="accounts") or []}
        call("commit")
        return {"type": "ok", "value": balances}
    call("abort")
    raise ValueError("not a bank op: %s" % f)


serve(perform)

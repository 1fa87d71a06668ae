// An exec client for the `bank` workload: accounts created by `init`,
// `transfer` between two of them (never below zero), `read` of every
// balance, each one serializable transaction.
package main

import (
	"fmt"
	"sort"

	"shakedown.example/clients/exec"
)

func perform(db *exec.DB, req exec.Request) (exec.Reply, error) {
	if err := db.Begin(); err != nil {
		return exec.Reply{}, err
	}
	switch req.F {
	case "init": // {"0": 10, ...}: create the accounts that do not exist yet
		balances, _ := req.Value.(map[string]any)
		accounts := make([]string, 0, len(balances))
		for account, balance := range balances {
			accounts = append(accounts, account)
			v, err := db.Get("account " + account)
			if err != nil {
				return exec.Reply{}, err
			}
			if v == nil {
				if err := db.Put("account "+account, balance); err != nil {
					return exec.Reply{}, err
				}
			}
		}
		sort.Strings(accounts)
		if err := db.Put("accounts", accounts); err != nil {
			return exec.Reply{}, err
		}
		return exec.Reply{Type: "ok"}, db.Commit()
	case "transfer":
		t, _ := req.Value.(map[string]any)
		from, to := fmt.Sprint("account ", t["from"]), fmt.Sprint("account ", t["to"])
		amount, err := exec.Int(t["amount"])
		if err != nil {
			return exec.Reply{}, err
		}
		have, err := db.Get(from)
		if err != nil {
			return exec.Reply{}, err
		}
		other, err := db.Get(to)
		if err != nil {
			return exec.Reply{}, err
		}
		h, err1 := exec.Int(have)
		o, err2 := exec.Int(other)
		if have == nil || other == nil || err1 != nil || err2 != nil || h < amount {
			return exec.Fail("no such account or not enough money"), db.Abort()
		}
		if err := db.Put(from, h-amount); err != nil {
			return exec.Reply{}, err
		}
		if err := db.Put(to, o+amount); err != nil {
			return exec.Reply{}, err
		}
		return exec.Reply{Type: "ok"}, db.Commit()
	case "read":
		v, err := db.Get("accounts")
		if err != nil {
			return exec.Reply{}, err
		}
		accounts, err := exec.List(v)
		if err != nil {
			return exec.Reply{}, err
		}
		balances := map[string]any{}
		for _, a := range accounts {
			account := fmt.Sprint(a)
			if balances[account], err = db.Get("account " + account); err != nil {
				return exec.Reply{}, err
			}
		}
		return exec.Ok(balances), db.Commit()
	}
	db.Abort()
	return exec.Reply{}, fmt.Errorf("not a bank op: %s", req.F)
}

func main() { exec.Serve(perform) }

// An exec client for the `counter` workload: add to one counter, read it.
package main

import (
	"fmt"

	"shakedown.example/clients/exec"
)

func perform(db *exec.DB, req exec.Request) (exec.Reply, error) {
	switch req.F {
	case "add":
		delta, err := exec.Int(req.Value)
		if err != nil {
			return exec.Reply{}, err
		}
		if err := db.Begin(); err != nil {
			return exec.Reply{}, err
		}
		v, err := db.Get("counter")
		if err != nil {
			return exec.Reply{}, err
		}
		n, err := exec.Int(v)
		if err != nil {
			return exec.Reply{}, err
		}
		if err := db.Put("counter", n+delta); err != nil {
			return exec.Reply{}, err
		}
		return exec.Reply{Type: "ok"}, db.Commit()
	case "read":
		v, err := db.Get("counter")
		if err != nil {
			return exec.Reply{}, err
		}
		n, err := exec.Int(v)
		return exec.Ok(n), err
	}
	return exec.Reply{}, fmt.Errorf("not a counter op: %s", req.F)
}

func main() { exec.Serve(perform) }

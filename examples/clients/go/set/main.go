// An exec client for the `set` workload: add elements, read them all.
package main

import (
	"fmt"

	"shakedown.example/clients/exec"
)

func perform(db *exec.DB, req exec.Request) (exec.Reply, error) {
	switch req.F {
	case "add":
		if err := db.Begin(); err != nil {
			return exec.Reply{}, err
		}
		v, err := db.Get("set")
		if err != nil {
			return exec.Reply{}, err
		}
		elements, err := exec.List(v)
		if err != nil {
			return exec.Reply{}, err
		}
		if err := db.Put("set", append(elements, req.Value)); err != nil {
			return exec.Reply{}, err
		}
		return exec.Reply{Type: "ok"}, db.Commit()
	case "read":
		v, err := db.Get("set")
		if err != nil {
			return exec.Reply{}, err
		}
		elements, err := exec.List(v)
		return exec.Ok(elements), err
	}
	return exec.Reply{}, fmt.Errorf("not a set op: %s", req.F)
}

func main() { exec.Serve(perform) }

// Package exec is what every example client shares: the exec protocol's
// loop (one JSON op a line on stdin, one reply a line on stdout, errors
// mapped to fail or info) and a connection to the toy database
// (examples/clients/toydb.py). A client for your database keeps Serve and
// replaces DB with your driver.
package exec

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Request is the operation shakedown asks for: `key` only where the
// workload has keys.
type Request struct {
	F     string `json:"f"`
	Key   any    `json:"key"`
	Value any    `json:"value"`
}

// Reply is what happened: `ok` (with the value a read returned; absent
// means the request's value), `fail` (it certainly did not happen) or
// `info` (it may have).
type Reply struct {
	Type  string `json:"type"`
	Value any    `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
}

// Null is a read's null value: kept in the reply, where a nil Value
// would be left out.
var Null = json.RawMessage("null")

// Ok is an `ok` reply with a read's value (nil becomes null).
func Ok(value any) Reply {
	if value == nil {
		return Reply{Type: "ok", Value: Null}
	}
	return Reply{Type: "ok", Value: value}
}

// Fail is a `fail` reply: the operation certainly did not happen.
func Fail(why string) Reply {
	return Reply{Type: "fail", Error: why}
}

// decode reads JSON keeping numbers exact (json.Number, not float64).
func decode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// Serve answers every operation on stdin with perform's reply. An error
// from perform is a `fail` if the database was never reached (connection
// refused), else `info`, and the connection is dropped so that the next
// operation starts afresh.
func Serve(perform func(db *DB, req Request) (Reply, error)) {
	db := &DB{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<26)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var req Request
		if err := decode(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "not an op:", err)
			os.Exit(1)
		}
		r, err := perform(db, req)
		if errors.Is(err, syscall.ECONNREFUSED) {
			r = Fail(err.Error())
		} else if err != nil {
			r = Reply{Type: "info", Error: err.Error()}
			db.Close()
		}
		if err := out.Encode(r); err != nil {
			os.Exit(1)
		}
	}
}

// DB is a connection to toydb: one JSON request a line, one reply a line.
type DB struct {
	conn    net.Conn
	replies *bufio.Reader
}

func (db *DB) call(req map[string]any) (any, error) {
	if db.conn == nil {
		addr := net.JoinHostPort(os.Getenv("SHAKEDOWN_HOST"), "7800")
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return nil, err
		}
		db.conn, db.replies = conn, bufio.NewReader(conn)
	}
	db.conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, _ := json.Marshal(req)
	if _, err := db.conn.Write(append(line, '\n')); err != nil {
		return nil, err
	}
	text, err := db.replies.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	var reply struct {
		Ok    bool   `json:"ok"`
		Value any    `json:"value"`
		Error string `json:"error"`
	}
	if err := decode(text, &reply); err != nil {
		return nil, err
	}
	if !reply.Ok {
		return nil, errors.New(reply.Error)
	}
	return reply.Value, nil
}

// Close drops the connection; toydb undoes a transaction left open.
func (db *DB) Close() {
	if db.conn != nil {
		db.conn.Close()
		db.conn = nil
	}
}

// Get reads a key: its value, or nil if never put.
func (db *DB) Get(key string) (any, error) {
	return db.call(map[string]any{"op": "get", "key": key})
}

// Put sets a key.
func (db *DB) Put(key string, value any) error {
	_, err := db.call(map[string]any{"op": "put", "key": key, "value": value})
	return err
}

// Begin starts a transaction (serializable: toydb holds its one lock).
func (db *DB) Begin() error { return db.do("begin") }

// Commit ends the transaction, keeping its puts.
func (db *DB) Commit() error { return db.do("commit") }

// Abort ends the transaction, undoing its puts.
func (db *DB) Abort() error { return db.do("abort") }

func (db *DB) do(op string) error {
	_, err := db.call(map[string]any{"op": op})
	return err
}

// Int is a JSON number as an int64 (0 for null).
func Int(v any) (int64, error) {
	switch n := v.(type) {
	case nil:
		return 0, nil
	case json.Number:
		return n.Int64()
	}
	return 0, fmt.Errorf("%v is not an integer", v)
}

// List is a JSON list (empty for null).
func List(v any) ([]any, error) {
	switch l := v.(type) {
	case nil:
		return []any{}, nil
	case []any:
		return l, nil
	}
	return nil, fmt.Errorf("%v is not a list", v)
}

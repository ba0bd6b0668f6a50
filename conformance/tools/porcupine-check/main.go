// Command porcupine-check reads histories written by @polystore/conformance's
// exportHistory (format "polystore-history/1") and checks them with Porcupine,
// an independent linearizability checker, against the same models.
//
//	go run . race.history.json [more.json ...]
//
// It prints one verdict per file (ok, violation or unknown) and exits 1 if any
// file is not ok. The models follow the table in conformance/README.md.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// exported is the top level of a polystore-history/1 file.
type exported struct {
	Format string `json:"format"`
	Model  struct {
		Name   string                     `json:"name"`
		Params map[string]json.RawMessage `json:"params"`
	} `json:"model"`
	T0         string `json:"t0"`
	Partitions []struct {
		Key        string       `json:"key"`
		Operations []exportedOp `json:"operations"`
	} `json:"partitions"`
}

// exportedOp is one op; Output is nil when the field is absent (nothing came back).
type exportedOp struct {
	ClientID int              `json:"clientId"`
	Input    map[string]any   `json:"input"`
	Call     int64            `json:"call"`
	Return   *int64           `json:"return"`
	Status   string           `json:"status"`
	Output   *json.RawMessage `json:"output"`
}

// outcome is what Porcupine's Step sees as the output: a definite status and
// value, or unknown for an op that may or may not have taken effect.
type outcome struct {
	unknown bool
	status  string // "ok" or "fail"
	value   any
}

type register struct {
	revision float64
	value    string // canonical JSON of the value
}

func canonical(v any) string {
	b, _ := json.Marshal(v) // encoding/json sorts map keys
	return string(b)
}

func decode(raw *json.RawMessage) any {
	if raw == nil {
		return nil
	}
	var v any
	_ = json.Unmarshal(*raw, &v)
	return v
}

func field(v any, name string) (any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	x, ok := m[name]
	return x, ok
}

// casRegister mirrors casRegisterFrom in conformance/src/specs.ts.
func casRegister(params map[string]json.RawMessage) porcupine.Model {
	var initial struct {
		Revision float64 `json:"revision"`
		Value    any     `json:"value"`
	}
	initial.Revision = 1
	if raw, ok := params["initial"]; ok {
		_ = json.Unmarshal(raw, &initial)
	}
	return porcupine.Model{
		Init: func() any { return register{initial.Revision, canonical(initial.Value)} },
		Step: func(st, in, out any) (bool, any) {
			s := st.(register)
			input := in.(map[string]any)
			o := out.(outcome)
			_, conflict := field(o.value, "conflict")
			if !o.unknown && o.status == "fail" && !conflict {
				return true, s // a definite failure without effect
			}
			if input["op"] == "read" {
				if o.unknown {
					return true, s
				}
				if o.status != "ok" {
					return false, s
				}
				rev, _ := field(o.value, "revision")
				val, _ := field(o.value, "value")
				return rev == s.revision && canonical(val) == s.value, s
			}
			holds := true
			if exp, ok := input["expectedRevision"]; ok && exp != s.revision {
				holds = false
			}
			if vals, ok := input["expectedValues"].([]any); ok {
				match := false
				for _, v := range vals {
					match = match || canonical(v) == s.value
				}
				holds = holds && match
			}
			next := register{s.revision + 1, canonical(input["value"])}
			if o.unknown {
				if holds {
					return true, next
				}
				return true, s
			}
			if o.status == "fail" {
				c, _ := field(o.value, "conflict")
				return !holds && c == s.revision, s
			}
			rev, _ := field(o.value, "revision")
			val, _ := field(o.value, "value")
			return holds && rev == next.revision && canonical(val) == next.value, next
		},
	}
}

// uniqueKey mirrors uniqueKey in conformance/src/specs.ts.
func uniqueKey() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return false },
		Step: func(st, in, out any) (bool, any) {
			taken := st.(bool)
			o := out.(outcome)
			if !o.unknown && o.status == "fail" && o.value != "duplicate" {
				return true, taken
			}
			if in.(map[string]any)["op"] == "release" {
				return o.unknown || o.status != "fail", false
			}
			if o.unknown {
				return true, true
			}
			if o.status == "fail" {
				return taken, taken
			}
			return !taken && o.value == "ok", true
		},
	}
}

// addressPool mirrors addressPool in conformance/src/specs.ts; the state is the
// sorted, comma-joined list of addresses taken.
func addressPool(params map[string]json.RawMessage) porcupine.Model {
	var pool []string
	_ = json.Unmarshal(params["addresses"], &pool)
	take := func(taken, a string) string {
		list := []string{}
		if taken != "" {
			list = strings.Split(taken, ",")
		}
		list = append(list, a)
		sort.Strings(list)
		return strings.Join(list, ",")
	}
	free := func(taken string) (string, bool) {
		held := map[string]bool{}
		for _, a := range strings.Split(taken, ",") {
			held[a] = true
		}
		for _, a := range pool {
			if !held[a] {
				return a, true
			}
		}
		return "", false
	}
	return porcupine.Model{
		Init: func() any { return "" },
		Step: func(st, _, out any) (bool, any) {
			taken := st.(string)
			o := out.(outcome)
			if !o.unknown && o.status == "fail" && o.value != "exhausted" {
				return true, taken
			}
			a, ok := free(taken)
			if o.unknown {
				if ok {
					return true, take(taken, a)
				}
				return true, taken
			}
			if o.status == "fail" {
				return !ok, taken
			}
			if !ok {
				return false, taken
			}
			return o.value == a, take(taken, a)
		},
	}
}

func modelFor(h exported) (porcupine.Model, error) {
	switch h.Model.Name {
	case "cas-register":
		return casRegister(h.Model.Params), nil
	case "unique-key":
		return uniqueKey(), nil
	case "address-pool":
		return addressPool(h.Model.Params), nil
	case "none":
		return porcupine.Model{
			Init: func() any { return 0 },
			Step: func(st, _, _ any) (bool, any) { return true, st },
		}, nil
	}
	return porcupine.Model{}, fmt.Errorf("unknown model %q", h.Model.Name)
}

func check(path string, timeout time.Duration) (porcupine.CheckResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return porcupine.Unknown, err
	}
	var h exported
	if err := json.Unmarshal(data, &h); err != nil {
		return porcupine.Unknown, err
	}
	if h.Format != "polystore-history/1" {
		return porcupine.Unknown, fmt.Errorf("format %q, want polystore-history/1", h.Format)
	}
	model, err := modelFor(h)
	if err != nil {
		return porcupine.Unknown, err
	}
	result := porcupine.Ok
	for _, p := range h.Partitions {
		ops := make([]porcupine.Operation, 0, len(p.Operations))
		for _, o := range p.Operations {
			op := porcupine.Operation{ClientId: o.ClientID, Input: o.Input, Call: o.Call}
			if (o.Status == "ok" || o.Status == "fail") && o.Return != nil {
				op.Output = outcome{status: o.Status, value: decode(o.Output)}
				op.Return = *o.Return
			} else {
				// Indeterminate: it may take effect any time after its call, so it
				// returns "at the end"; placed last, it changes nothing observed.
				op.Output = outcome{unknown: true}
				op.Return = math.MaxInt64
			}
			ops = append(ops, op)
		}
		switch porcupine.CheckOperationsTimeout(model, ops, timeout) {
		case porcupine.Illegal:
			return porcupine.Illegal, nil
		case porcupine.Unknown:
			result = porcupine.Unknown
		}
	}
	return result, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: porcupine-check history.json [...]")
		os.Exit(2)
	}
	names := map[porcupine.CheckResult]string{porcupine.Ok: "ok", porcupine.Illegal: "violation", porcupine.Unknown: "unknown"}
	failed := false
	for _, path := range os.Args[1:] {
		start := time.Now()
		res, err := check(path, 30*time.Second)
		if err != nil {
			fmt.Printf("%s: error: %v\n", path, err)
			failed = true
			continue
		}
		failed = failed || res != porcupine.Ok
		fmt.Printf("%s: %s (%.1f ms)\n", path, names[res], float64(time.Since(start).Microseconds())/1000)
	}
	if failed {
		os.Exit(1)
	}
}

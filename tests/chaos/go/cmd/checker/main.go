// checker: reads a history recorded by the recorder (JSON lines) and checks that it is
// linearizable against etcd's key-value semantics (package model, with porcupine), and that the
// revisions etcd answered are in real-time order.
//
//	checker [-timeout 60s] [-html path] history.jsonl
//
// Prints one JSON summary line on stdout. Exit 0: linearizable; 1: not (the message on stderr,
// porcupine's visualization written to <history>.html unless -html says otherwise); 2: the
// history could not be read; 3: porcupine ran out of time (nothing proven).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"etcd-stack/chaos/history"
	"etcd-stack/chaos/model"

	"github.com/anishathalye/porcupine"
)

type counts struct {
	OK      int `json:"ok"`
	Failed  int `json:"failed"`
	Unknown int `json:"unknown"`
}

func (c *counts) add(outcome string) {
	switch outcome {
	case history.OK:
		c.OK++
	case history.Failed:
		c.Failed++
	case history.Unknown:
		c.Unknown++
	}
}

type summary struct {
	History       string             `json:"history"`
	Ops           int                `json:"ops"`
	counts                           // ok, failed, unknown
	ByKind        map[string]*counts `json:"byKind"`
	Keys          int                `json:"keys"`
	Clients       int                `json:"clients"`
	Checked       int                `json:"checked"`    // operations given to porcupine
	Unobserved    int                `json:"unobserved"` // unknown writes left out: nothing observed them (model.Unobserved)
	FinalReads    counts             `json:"finalReads"` // the reads made after the workers stopped
	Result        string             `json:"result"`     // linearizable, not linearizable, timed out
	Linearizable  string             `json:"porcupine"`
	RevisionOrder string             `json:"revisionOrder"` // ok, or the violation
	Visualization string             `json:"visualization,omitempty"`
	Millis        int64              `json:"ms"`
}

func main() {
	timeout := flag.Duration("timeout", 60*time.Second, "porcupine's time budget (0: none)")
	htmlPath := flag.String("html", "", "where to write the visualization when the check fails (default <history>.html)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: checker [-timeout d] [-html path] history.jsonl")
		os.Exit(2)
	}
	path := flag.Arg(0)
	if *htmlPath == "" {
		*htmlPath = path + ".html"
	}
	started := time.Now()
	h, err := history.Read(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "checker: %s: %v\n", path, err)
		os.Exit(2)
	}
	s := summary{History: path, Ops: len(h), ByKind: map[string]*counts{}}
	keys, clients := map[string]bool{}, map[int]bool{}
	for _, r := range h {
		s.add(r.Outcome)
		if s.ByKind[r.Op] == nil {
			s.ByKind[r.Op] = &counts{}
		}
		s.ByKind[r.Op].add(r.Outcome)
		keys[r.Key], clients[r.Client] = true, true
		if r.Final {
			s.FinalReads.add(r.Outcome)
		}
	}
	s.Keys, s.Clients = len(keys), len(clients)

	ops, unobserved := model.Operations(h)
	s.Checked, s.Unobserved = len(ops), unobserved
	res, info := porcupine.CheckOperationsVerbose(model.Model, ops, *timeout)
	s.Linearizable = string(res)
	s.RevisionOrder = "ok"
	if v := model.RevisionOrder(h); v != "" {
		s.RevisionOrder = v
	}
	code := 0
	switch {
	case res == porcupine.Illegal || s.RevisionOrder != "ok":
		s.Result, code = "not linearizable", 1
	case res == porcupine.Unknown:
		s.Result, code = "timed out", 3
	default:
		s.Result = "linearizable"
	}
	if code == 1 {
		if err := porcupine.VisualizePath(model.Model, info, *htmlPath); err != nil {
			fmt.Fprintf(os.Stderr, "checker: writing the visualization: %v\n", err)
		} else {
			s.Visualization = *htmlPath
		}
	}
	s.Millis = time.Since(started).Milliseconds()
	out, _ := json.Marshal(s)
	fmt.Println(string(out))
	switch code {
	case 1:
		if res == porcupine.Illegal {
			fmt.Fprintf(os.Stderr, "checker: %s is not linearizable (porcupine); visualization: %s\n", path, s.Visualization)
		}
		if s.RevisionOrder != "ok" {
			fmt.Fprintf(os.Stderr, "checker: %s: revisions out of order: %s\n", path, s.RevisionOrder)
		}
	case 3:
		fmt.Fprintf(os.Stderr, "checker: porcupine found no answer within %s\n", *timeout)
	}
	os.Exit(code)
}

// labclient: the lab tests' etcd client, one long-running process instead of an etcdctl process
// per request (issue 26: a writer and a health monitor spawning etcdctl took about a core of this
// 2-core machine, slowing every `up` they watched). It reads one JSON request per line on stdin
// and answers one JSON line per request on stdout, in any order (requests run concurrently).
//
//	{"id":1,"op":"put","endpoints":"https://a:2379,https://b:2379","ca":"/x/ca.crt","cert":"/x/c.crt","key":"/x/c.key","k":"w/1","v":"1","timeoutMs":5000}
//	-> {"id":1,"ok":true} or {"id":1,"ok":false,"error":"context deadline exceeded"}
//
// Puts keep one client per endpoint list and credentials; a client whose request failed is
// closed, so the next request dials afresh (as a new etcdctl process would), instead of waiting
// out gRPC's reconnect backoff.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

type request struct {
	ID        int64  `json:"id"`
	Op        string `json:"op"`
	Endpoints string `json:"endpoints"`
	CA        string `json:"ca"`
	Cert      string `json:"cert"`
	Key       string `json:"key"`
	K         string `json:"k"`
	V         string `json:"v"`
	TimeoutMs int    `json:"timeoutMs"`
}

type response struct {
	ID    int64  `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

type clients struct {
	mu sync.Mutex
	m  map[string]*clientv3.Client
}

// get returns the kept client for these endpoints and credentials, or dials one. The dial (which
// blocks up to DialTimeout when a member is down) runs outside the lock: requests to other
// members never wait behind it.
func (c *clients) get(r request) (*clientv3.Client, string, error) {
	// A credential file written again (a test re-issued a certificate) is a new client.
	id := strings.Join([]string{r.Endpoints, version(r.CA), version(r.Cert), version(r.Key)}, "\x00")
	c.mu.Lock()
	cli, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return cli, id, nil
	}
	cli, err := dial(r)
	if err != nil {
		return nil, id, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if kept, ok := c.m[id]; ok { // another request dialed meanwhile: keep one
		cli.Close()
		return kept, id, nil
	}
	c.m[id] = cli
	return cli, id, nil
}

// version names a file as it is now: its path, size and modification time.
func version(path string) string {
	if path == "" {
		return ""
	}
	st, err := os.Stat(path)
	if err != nil {
		return path
	}
	return fmt.Sprintf("%s@%d@%d", path, st.Size(), st.ModTime().UnixNano())
}

// dial makes a client for the request's endpoints and credentials.
func dial(r request) (*clientv3.Client, error) {
	tlsInfo := transport.TLSInfo{TrustedCAFile: r.CA}
	if r.Cert != "" {
		tlsInfo.CertFile, tlsInfo.KeyFile = r.Cert, r.Key
	}
	cfg, err := tlsInfo.ClientConfig()
	if err != nil {
		return nil, err
	}
	return clientv3.New(clientv3.Config{
		Endpoints:   strings.Split(r.Endpoints, ","),
		DialTimeout: 3 * time.Second, // as the tests' etcdctl: --dial-timeout=3s
		TLS:         cfg,
		Logger:      zap.NewNop(),
	})
}

// drop closes a client after a failed request: the next one dials afresh.
func (c *clients) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cli, ok := c.m[id]; ok {
		cli.Close()
		delete(c.m, id)
	}
}

func (c *clients) serve(r request) response {
	cli, id, err := c.get(r)
	if err != nil {
		return response{ID: r.ID, Error: err.Error()}
	}
	timeout := time.Duration(r.TimeoutMs) * time.Millisecond
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch r.Op {
	case "put":
		_, err = cli.Put(ctx, r.K, r.V)
	default:
		err = fmt.Errorf("unknown op %q", r.Op)
	}
	if err != nil {
		c.drop(id)
		return response{ID: r.ID, Error: err.Error()}
	}
	return response{ID: r.ID, OK: true}
}

func main() {
	c := &clients{m: map[string]*clientv3.Client{}}
	var out sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	var wg sync.WaitGroup
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fmt.Fprintf(os.Stderr, "labclient: bad request: %v\n", err)
			os.Exit(2)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := c.serve(r)
			out.Lock()
			defer out.Unlock()
			_ = enc.Encode(resp)
		}()
	}
	// stdin closed: the test is done; finish what is in flight (each bounded by its timeout).
	wg.Wait()
}

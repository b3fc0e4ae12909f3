// Command gateload measures what a proxy in front of the Docker API costs:
// for each named unix socket (the engine's own first, then the proxies) it
// times GET /containers/json and POST /containers/create one request at a
// time, alternating between the sockets (p50, p99; each created container
// is deleted untimed), the requests per second of GET /containers/json with
// C concurrent clients, and the throughput of a logs follow stream of an exited container that wrote a
// known amount. It prints one table with the added latency against the
// first socket and the streaming throughput as a share of it:
//
//	gateload -image busybox-bench direct=/tmp/d/docker.sock gate=/tmp/g.sock haproxy=/tmp/h.sock
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type target struct {
	name, socket string
	client       *http.Client
	list, create []time.Duration
	rps          float64
	mbps         []float64
}

func main() {
	image := flag.String("image", "", "the image to create containers from (required)")
	n := flag.Int("n", 500, "sequential requests per latency measurement")
	conc := flag.Int("c", 64, "concurrent clients for the throughput measurement")
	dur := flag.Duration("d", 10*time.Second, "duration of each throughput measurement")
	streamMB := flag.Int("stream-mb", 100, "MB the logs container writes")
	rounds := flag.Int("rounds", 3, "logs streams read per socket, alternating between sockets")
	flag.Parse()
	if *image == "" || flag.NArg() < 2 {
		fmt.Fprintln(os.Stderr, "usage: gateload -image IMAGE name=SOCKET name=SOCKET...")
		os.Exit(2)
	}
	if *n < 1 || *conc < 1 || *rounds < 1 || *streamMB < 1 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "gateload: -n, -c, -rounds, -stream-mb and -d must be positive")
		os.Exit(2)
	}
	var ts []*target
	for _, a := range flag.Args() {
		name, sock, ok := strings.Cut(a, "=")
		if !ok {
			fail(fmt.Errorf("%q: want name=socket", a))
		}
		ts = append(ts, &target{name: name, socket: sock, client: unixClient(sock, *conc)})
	}
	var v struct{ APIVersion string }
	if err := getJSON(ts[0].client, "/version", &v); err != nil {
		fail(err)
	}
	prefix := "/v" + v.APIVersion
	for _, t := range ts {
		if err := getJSON(t.client, prefix+"/_ping", nil); err != nil {
			fail(fmt.Errorf("%s: %w", t.name, err))
		}
	}
	// Latency: request i goes to every socket in turn, so that a drift of
	// the engine (its state, a busier neighbour) falls on all alike.
	log("latency, %d sequential requests per socket", *n)
	for _, t := range ts {
		for range 20 {
			must(t.client, "GET", prefix+"/containers/json", nil, nil)
		}
	}
	body := createBody(*image, []string{"true"})
	for range *n {
		for _, t := range ts {
			start := time.Now()
			must(t.client, "GET", prefix+"/containers/json", nil, nil)
			t.list = append(t.list, time.Since(start))
		}
	}
	for range *n {
		for _, t := range ts {
			var c struct{ ID string }
			start := time.Now()
			must(t.client, "POST", prefix+"/containers/create", body, &c)
			t.create = append(t.create, time.Since(start))
			must(t.client, "DELETE", prefix+"/containers/"+c.ID, nil, nil)
		}
	}
	for _, t := range ts {
		log("%s: throughput, %d clients, %s", t.name, *conc, *dur)
		t.rps = throughput(t.client, prefix+"/containers/json", *conc, *dur)
	}
	// Streaming: one container that has written streamMB MB in 1000-byte
	// lines, its logs read to the end through each socket in turn.
	line := strings.Repeat("x", 999)
	cmd := fmt.Sprintf("yes %s | head -c %d", line, *streamMB*1000*1000)
	var c struct{ ID string }
	must(ts[0].client, "POST", prefix+"/containers/create", createBody(*image, []string{"sh", "-c", cmd}), &c)
	defer must(ts[0].client, "DELETE", prefix+"/containers/"+c.ID+"?force=1", nil, nil)
	must(ts[0].client, "POST", prefix+"/containers/"+c.ID+"/start", nil, nil)
	must(ts[0].client, "POST", prefix+"/containers/"+c.ID+"/wait", nil, nil)
	logs := prefix + "/containers/" + c.ID + "/logs?follow=1&stdout=1&stderr=1"
	var want int64
	for r := range *rounds + 1 {
		for _, t := range ts {
			start := time.Now()
			got, err := readAll(t.client, logs)
			if err != nil {
				fail(fmt.Errorf("%s: logs: %w", t.name, err))
			}
			el := time.Since(start)
			if want == 0 {
				want = got
			} else if got != want {
				fail(fmt.Errorf("%s: logs: read %d bytes, the first read %d", t.name, got, want))
			}
			if r > 0 { // the first round warms the page cache
				t.mbps = append(t.mbps, float64(got)/1e6/el.Seconds())
			}
		}
	}
	report(ts, *n, *conc, *dur, want)
}

func createBody(image string, cmd []string) []byte {
	b, err := json.Marshal(map[string]any{
		"Image": image, "Cmd": cmd, "User": "1000:1000", "NetworkDisabled": true,
		"HostConfig": map[string]any{
			"NetworkMode": "none", "CapDrop": []string{"ALL"}, "ReadonlyRootfs": true,
			"SecurityOpt": []string{"no-new-privileges"}, "Memory": 256 << 20, "PidsLimit": 64,
		},
	})
	if err != nil {
		fail(err)
	}
	return b
}

func unixClient(sock string, conns int) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", sock)
		},
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true,
	}}
}

func do(c *http.Client, method, path string, body []byte, out any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://docker"+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func getJSON(c *http.Client, path string, out any) error { return do(c, "GET", path, nil, out) }

func must(c *http.Client, method, path string, body []byte, out any) {
	if err := do(c, method, path, body, out); err != nil {
		fail(err)
	}
}

func throughput(c *http.Client, path string, conc int, dur time.Duration) float64 {
	var done atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := do(c, "GET", path, nil, nil); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		fail(err)
	}
	return float64(done.Load()) / time.Since(start).Seconds()
}

func readAll(c *http.Client, path string) (int64, error) {
	resp, err := c.Get("http://docker" + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s", resp.Status)
	}
	return io.Copy(io.Discard, resp.Body)
}

func pct(ds []time.Duration, p float64) float64 {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func report(ts []*target, n, conc int, dur time.Duration, streamed int64) {
	base := ts[0]
	fmt.Printf("latency: %d sequential requests each; throughput: %d clients for %s; logs: %.1f MB read, median of %d reads\n\n",
		n, conc, dur, float64(streamed)/1e6, len(base.mbps))
	fmt.Printf("| socket | list p50 / p99 (ms) | added p50 / p99 | create p50 / p99 (ms) | added p50 / p99 | list req/s (%d clients) | logs -f MB/s | %% of direct |\n", conc)
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, t := range ts {
		fmt.Printf("| %s | %.3f / %.3f | %+.3f / %+.3f | %.3f / %.3f | %+.3f / %+.3f | %.0f | %.0f | %.1f%% |\n", t.name,
			pct(t.list, .5), pct(t.list, .99), pct(t.list, .5)-pct(base.list, .5), pct(t.list, .99)-pct(base.list, .99),
			pct(t.create, .5), pct(t.create, .99), pct(t.create, .5)-pct(base.create, .5), pct(t.create, .99)-pct(base.create, .99),
			t.rps, median(t.mbps), 100*median(t.mbps)/median(base.mbps))
	}
}

func log(format string, args ...any) { fmt.Fprintf(os.Stderr, "gateload: "+format+"\n", args...) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gateload:", err)
	os.Exit(1)
}

package clamd_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hull-sec/hull/internal/clamd"
	"github.com/hull-sec/hull/internal/testenv"
)

// TestThroughput measures scans of many small files and a few large ones
// against a real clamd, with one connection per file (the Client) and,
// for comparison, with a minimal IDSESSION pipeline (session below, test
// only): the numbers behind the package doc's choice. Every file's content
// is unique, so clamd's cache of clean files (by hash) is never hit. Run
// with -v to see the numbers.
func TestThroughput(t *testing.T) {
	srv := testenv.Clamd(t, testenv.ClamdOptions{StreamMaxLength: "16M"})
	c := dial(t, srv.Socket, clamd.Options{MaxBytes: 16 << 20, MaxConcurrent: 16})

	type job struct {
		name string
		n    int // files
		size int
	}
	small, large := job{"2000 x 4 KiB", 2000, 4 << 10}, job{"5 x 8 MiB", 5, 8 << 20}
	for _, j := range []job{small, large} {
		for _, par := range []int{1, 4} {
			mode := fmt.Sprintf("connection per file, %d in flight", par)
			measure(t, j.name, mode, j.n, j.size, par, func(data []byte, name string) (string, error) {
				res, err := c.Scan(context.Background(), bytes.NewReader(data), name)
				return res.Status.String(), err
			})
			s := openSession(t, srv.Socket)
			mode = fmt.Sprintf("IDSESSION, %d in flight", par)
			measure(t, j.name, mode, j.n, j.size, par, func(data []byte, name string) (string, error) {
				reply, err := s.scan(data)
				if reply == "stream: OK" {
					reply = "clean"
				}
				return reply, err
			})
			s.close()
		}
	}
}

// measure scans n unique clean files of size bytes with par goroutines and
// logs the rate; every result must be clean.
func measure(t *testing.T, job, mode string, n, size, par int, scan func([]byte, string) (string, error)) {
	t.Helper()
	files := make([][]byte, n)
	for i := range files {
		files[i] = filler(size)
		copy(files[i], fmt.Sprintf("%s / %s / file %d\n", job, mode, i))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, par)
	start := time.Now()
	for g := 0; g < par; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				got, err := scan(files[i], strconv.Itoa(i))
				if err == nil && got != "clean" {
					err = fmt.Errorf("file %d: %q, want clean", i, got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatalf("%s, %s: %v", job, mode, err)
	}
	t.Logf("%-13s %-34s %7.0f files/s %7.1f MB/s (%v)", job, mode,
		float64(n)/d.Seconds(), float64(n*size)/1e6/d.Seconds(), d.Round(time.Millisecond))
}

// session is a minimal IDSESSION client, for the measurement only: scans
// are written under a lock while a goroutine reads the replies ("ID: reply",
// in any order) and hands each to its waiter.
type session struct {
	conn    net.Conn
	wmu     sync.Mutex
	mu      sync.Mutex
	next    int
	pending map[int]chan string
	done    chan struct{}
}

func openSession(t *testing.T, sock string) *session {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(5 * time.Minute))
	if _, err := conn.Write([]byte("zIDSESSION\x00")); err != nil {
		t.Fatal(err)
	}
	s := &session{conn: conn, pending: map[int]chan string{}, done: make(chan struct{})}
	go s.readLoop()
	return s
}

func (s *session) readLoop() {
	defer close(s.done)
	br := bufio.NewReader(s.conn)
	for {
		line, err := br.ReadString(0)
		if err != nil {
			return
		}
		idText, reply, ok := strings.Cut(strings.TrimSuffix(line, "\x00"), ": ")
		id, err := strconv.Atoi(idText)
		s.mu.Lock()
		ch := s.pending[id]
		delete(s.pending, id)
		s.mu.Unlock()
		if !ok || err != nil || ch == nil {
			return
		}
		ch <- reply
	}
}

func (s *session) scan(data []byte) (string, error) {
	ch := make(chan string, 1)
	s.wmu.Lock()
	s.mu.Lock()
	s.next++
	s.pending[s.next] = ch
	s.mu.Unlock()
	var msg bytes.Buffer
	msg.WriteString("zINSTREAM\x00")
	for rest := data; len(rest) > 0; {
		n := min(len(rest), clamd.DefaultChunkSize)
		msg.Write(binary.BigEndian.AppendUint32(nil, uint32(n)))
		msg.Write(rest[:n])
		rest = rest[n:]
	}
	msg.Write([]byte{0, 0, 0, 0})
	_, err := s.conn.Write(msg.Bytes())
	s.wmu.Unlock()
	if err != nil {
		return "", err
	}
	select {
	case reply := <-ch:
		return reply, nil
	case <-s.done:
		return "", fmt.Errorf("session closed")
	}
}

func (s *session) close() {
	s.wmu.Lock()
	_, _ = s.conn.Write([]byte("zEND\x00"))
	s.wmu.Unlock()
	s.conn.Close()
	<-s.done
}

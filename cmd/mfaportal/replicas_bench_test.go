package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
)

// BenchmarkReplicasUsersPage is a load run of the users page (a mix of its filters, sorts and
// searches) through one replica and through two serving together, each `mfaportal serve` run
// in-process on its own listener over one PostgreSQL database, by 8 clients at once (the two
// replicas' share alternating, as a load balancer without stickiness would): requests a second and
// the p95. The directory size is MFAPORTAL_BENCH_USERS (default 100,000).
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench ReplicasUsersPage -benchtime 4000x ./cmd/mfaportal/
func BenchmarkReplicasUsersPage(b *testing.B) {
	n := 100_000
	if s := os.Getenv("MFAPORTAL_BENCH_USERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("MFAPORTAL_BENCH_USERS=%q: expected a number of users, at least 1000", s)
		}
		n = v
	}
	ctx := context.Background()
	dbURL := pgtest.URL(b)
	db, err := openDatabase(ctx, dbURL, testAuditKey)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := db.SeedUsers(ctx, mfa.DemoUsers(n), time.Now(), nil); err != nil {
		b.Fatal(err)
	}
	db.Close()
	analyze(b, dbURL)
	b.Logf("seeded %d users in %s", n, time.Since(start).Round(time.Millisecond))
	env := map[string]string{"MFAPORTAL_DATABASE_URL": dbURL, "MFAPORTAL_AUDIT_KEY": testAuditKey, "MFAPORTAL_ADMIN_PASSWORD": replicaPassword}
	replicas := []string{serveInProcess(b, env), serveInProcess(b, env)}
	// One session, signed in on the first replica, works on both.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	resp, err := c.PostForm(replicas[0]+"/signin", url.Values{"username": {"admin"}, "password": {replicaPassword}})
	if err != nil || resp.Request.URL.Path != "/users" {
		b.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()
	paths := []string{
		"/users", "/users?view=all&status=enforced", "/users?view=blocked&status=disabled",
		"/users?view=all&q=a", "/users?view=allowed&status=enabled&q=s", "/users?view=all&q=han",
		"/users?view=all&privileged=true&methods=none&limit=250", "/users?view=all&status=enforced&methods=none&sort=upn&order=desc",
		"/users?view=allowed&methods=phone-only&sort=status&order=desc&q=s&limit=250", "/users?view=all&status=enabled&sort=upn&q=l",
	}
	// Warm both up alike: each page once on each (connections, prepared statements, caches).
	for _, base := range replicas {
		for _, p := range paths {
			resp, err := c.Get(base + p)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	for _, serving := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", serving), func(b *testing.B) {
			const clients = 8
			var next atomic.Int64
			durs := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			b.ResetTimer()
			t0 := time.Now()
			for range clients {
				wg.Go(func() {
					for {
						i := int(next.Add(1) - 1)
						if i >= b.N {
							return
						}
						u := replicas[i%serving] + paths[i%len(paths)]
						start := time.Now()
						resp, err := c.Get(u)
						if err != nil || resp.StatusCode != http.StatusOK {
							b.Errorf("%s: %v", u, err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						durs[i] = time.Since(start)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(t0)
			b.StopTimer()
			slices.Sort(durs)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(durs[len(durs)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// analyze gathers the planner's statistics after the seed, as autovacuum would in time.
func analyze(b *testing.B, dbURL string) {
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "VACUUM (ANALYZE)"); err != nil {
		b.Fatal(err)
	}
}

// serveInProcess runs `mfaportal serve` in this process with env on a free port (no demo tenant),
// stopped when b ends, and answers its URL once it is ready.
func serveInProcess(b *testing.B, env map[string]string) string {
	b.Helper()
	addr := freeAddr(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--demo=false", "--log-level", "error"}, func(k string) string { return env[k] },
			strings.NewReader(""), io.Discard, io.Discard)
	}()
	b.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("serve on %s did not start", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

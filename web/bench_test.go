package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// BenchmarkUsersPageHTTP is a short load run of the users page through the whole server (router,
// session, handler, SQLite, templ) on loopback, signed in as a reader, and reports the p95 of each
// URL. The directory size is MFAPORTAL_BENCH_USERS (default 100,000), seeded into a temporary folder.
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench UsersPageHTTP -benchtime 200x ./web/
func BenchmarkUsersPageHTTP(b *testing.B) {
	n := 100_000
	if s := os.Getenv("MFAPORTAL_BENCH_USERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			b.Fatalf("MFAPORTAL_BENCH_USERS=%q: expected a number of users, at least 1000", s)
		}
		n = v
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	if _, err := db.SeedUsers(ctx, mfa.DemoUsers(n), time.Now(), nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d users in %s", n, time.Since(start).Round(time.Millisecond))
	hash, _ := mfa.HashPassword(testPassword)
	db.CreateAccount(ctx, &mfa.Account{Name: "reader", Role: mfa.RoleReader, PasswordHash: hash, CreatedAt: time.Now(), UpdatedAt: time.Now()})
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Importer: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
	app, err := New(Config{SessionKey: make([]byte, 64)}, svc, db, db.Ping, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	e := &testEnv{srv: srv}
	c := e.client()
	resp, err := c.PostForm(srv.URL+"/signin", url.Values{"username": {"reader"}, "password": {testPassword}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		b.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()

	for _, path := range []string{
		"/users", "/users?view=all&status=enforced", "/users?view=blocked&status=disabled",
		"/users?view=all&q=a", "/users?view=allowed&status=enabled&q=s", "/users?view=all&q=han",
		"/users?view=all&q=%C3%A9lo", "/users?view=all&q=sofia.sa",
		// The filters, sorts and page sizes of SPEC §10.
		"/users?view=all&privileged=true&methods=none&limit=250", "/users?view=all&status=enforced&methods=none&sort=upn&order=desc",
		"/users?view=allowed&methods=phone-only&sort=status&order=desc&q=s&limit=250", "/users?view=all&status=enabled&sort=upn&q=l",
	} {
		b.Run(path, func(b *testing.B) {
			durs := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				resp, err := c.Get(srv.URL + path)
				if err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %v", path, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				durs = append(durs, time.Since(t0))
			}
			slices.Sort(durs)
			b.ReportMetric(float64(durs[len(durs)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

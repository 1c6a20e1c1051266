package graph

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// meet is a transport that holds each request of a class until another request of the same class
// arrives, or until a while has passed: two requests sent at once meet; sent one after the other,
// the first is let go alone.
type meet struct {
	next    http.RoundTripper
	classOf func(path string) string // "": not held
	mu      sync.Mutex
	waiting map[string]chan struct{}
	met     map[string]int
	alone   map[string]int
}

func (m *meet) RoundTrip(r *http.Request) (*http.Response, error) {
	if c := m.classOf(r.URL.Path); c != "" {
		m.mu.Lock()
		if ch, ok := m.waiting[c]; ok {
			delete(m.waiting, c)
			close(ch)
			m.met[c]++
			m.mu.Unlock()
		} else {
			ch := make(chan struct{})
			m.waiting[c] = ch
			m.mu.Unlock()
			select {
			case <-ch:
			case <-time.After(5 * time.Second):
				m.mu.Lock()
				if m.waiting[c] == ch {
					delete(m.waiting, c)
					m.alone[c]++
				}
				m.mu.Unlock()
			}
		}
	}
	return m.next.RoundTrip(r)
}

// The reads every page of users waits for are sent at once, not one round trip after the other:
// the Conditional Access policies with the security defaults, each group's name with its members,
// the members of the directory roles together. (A small tenant's sync took 4 round trips of these
// before its first page could be written, 2 now.)
func TestSyncReadsAtOnce(t *testing.T) {
	m := &meet{waiting: map[string]chan struct{}{}, met: map[string]int{}, alone: map[string]int{}}
	m.classOf = func(path string) string {
		path = strings.TrimPrefix(path, "/v1.0")
		switch {
		case path == "/identity/conditionalAccess/policies" || path == "/policies/identitySecurityDefaultsEnforcementPolicy":
			return "policies and security defaults"
		case strings.HasPrefix(path, "/groups/"):
			id, _, _ := strings.Cut(strings.TrimPrefix(path, "/groups/"), "/")
			return "group " + id
		case strings.HasPrefix(path, "/directoryRoles/") && strings.HasSuffix(path, "/members"):
			return "role members"
		}
		return ""
	}
	e := newEnv(t, graphemu.Options{Users: 60}, func(c *Config) {
		m.next = c.HTTPClient.Transport
		c.HTTPClient = &http.Client{Transport: m}
	})
	// Two activated roles (the seed activates one).
	ids := e.emu.UserIDs()
	if err := e.emu.SetRoleMember(graphemu.GlobalAdministratorTemplateID, ids[0], true); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.SetRoleMember(graphemu.HelpdeskAdministratorTemplateID, ids[1], true); err != nil {
		t.Fatal(err)
	}
	e.sync()
	m.mu.Lock()
	defer m.mu.Unlock()
	groups := 0
	for c := range m.met {
		if strings.HasPrefix(c, "group ") {
			groups++
		}
	}
	if m.met["policies and security defaults"] != 1 || m.met["role members"] != 1 || groups == 0 || len(m.alone) != 0 {
		t.Errorf("read at once: %v; one after the other: %v", m.met, m.alone)
	}
	for _, id := range ids[:2] {
		g, _ := e.emu.User(id)
		if u, err := e.dir.FindUser(context.Background(), g.UPN); err != nil || !u.Privileged {
			t.Errorf("%s: not an admin in the index: %+v %v", g.UPN, u, err)
		}
	}
}

// A page of users waits for its last steps; while two pages wait out a throttled step's
// Retry-After, the next page's states are read meanwhile (pageWorkers): the quota is not idle.
func TestSyncReadsOtherPagesWhileTwoWait(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 3 * pageSize}, nil)
	ids := e.emu.UserIDs()
	a, b, c := ids[0], ids[pageSize], ids[2*pageSize] // on pages 1, 2 and 3
	var mu sync.Mutex
	calls := map[string]int{}
	var order []string // the state requests of a, b and c, as they arrive
	e.emu.SetFaults(graphemu.Faults{Rate429: 1, RetryAfter: 2 * time.Second, Match: func(method, path string) bool {
		id, ok := strings.CutPrefix(path, "/users/")
		id, _, _ = strings.Cut(id, "/")
		if !ok || method != http.MethodGet || (id != a && id != b && id != c) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		calls[id]++
		order = append(order, map[string]string{a: "a", b: "b", c: "c"}[id]+strconv.Itoa(calls[id]))
		return id != c && calls[id] == 1 // a's and b's first request throttled, for 2 s
	}})
	e.sync()
	mu.Lock()
	defer mu.Unlock()
	if i := slices.Index(order, "c1"); i < 0 || slices.Index(order, "a2") < i || slices.Index(order, "b2") < i {
		t.Errorf("page 3 was read only after pages 1 and 2 were done: %v", order)
	}
	if n, _ := e.db.CountUsers(context.Background()); n != 3*pageSize {
		t.Errorf("%d users indexed", n)
	}
}

package graphemu

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkBatchOf20 measures a full $batch of 20 requirement reads over HTTP: the unit a sync of
// per-user states is made of.
func BenchmarkBatchOf20(b *testing.B) {
	s := New(Options{Users: 100_000, Quotas: Quotas{Disabled: true}})
	ts := httptest.NewServer(s)
	defer ts.Close()
	tok := s.IssueToken("contoso", "bench")
	ids := s.UserIDs()
	bodies := make([][]byte, 64)
	for i := range bodies {
		var steps []map[string]string
		for j := range 20 {
			steps = append(steps, map[string]string{"id": fmt.Sprint(j), "method": "GET",
				"url": "/users/" + ids[(i*20+j)*997%len(ids)] + "/authentication/requirements"})
		}
		bodies[i], _ = json.Marshal(map[string]any{"requests": steps})
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest("POST", ts.URL+"/beta/$batch", bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := ts.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var out struct{ Responses []json.RawMessage }
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Responses) != 20 {
				b.Fatalf("%v %d", err, len(out.Responses))
			}
			resp.Body.Close()
			i++
		}
	})
	b.ReportMetric(float64(b.N*20)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkListPage999 measures one page of 999 users with $select.
func BenchmarkListPage999(b *testing.B) {
	s := New(Options{Users: 100_000, Quotas: Quotas{Disabled: true}})
	c := &call{method: "GET", version: "v1.0", path: "/users", base: "http://x",
		query: map[string][]string{"$select": {"id,displayName,userPrincipalName,accountEnabled"}, "$top": {"999"}}}
	b.ReportAllocs()
	for b.Loop() {
		c.segs = splitPath(c.path)
		if res := s.listUsers(c); res.status != 200 {
			b.Fatal(res.status)
		}
	}
}

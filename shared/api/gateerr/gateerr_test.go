package gateerr_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gennaker/gennaker/shared/api/gateerr"
)

func TestWrite(t *testing.T) {
	at := time.UnixMilli(1700000000000)
	cases := []struct {
		name     string
		status   int
		message  string
		problems []string
		want     string
	}{
		{"bad request", 400, "name: is required", nil,
			`{"status":400,"error":"Bad Request","message":"name: is required","timestamp":1700000000000}` + "\n"},
		{"problems listed", 400, "pipeline is invalid", []string{"stages[0].type: unknown", "name: is required"},
			`{"status":400,"error":"Bad Request","message":"pipeline is invalid","timestamp":1700000000000,"errors":["stages[0].type: unknown","name: is required"]}` + "\n"},
		{"client went away", 499, "the client went away", nil,
			`{"status":499,"error":"Client Closed Request","message":"the client went away","timestamp":1700000000000}` + "\n"},
		{"message kept as written", 404, `stage "<Deploy> & co" not found`, nil,
			`{"status":404,"error":"Not Found","message":"stage \"<Deploy> & co\" not found","timestamp":1700000000000}` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := gateerr.Write(rec, tc.status, tc.message, at, tc.problems...); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("status %d, Content-Type %q; want %d, application/json", rec.Code, rec.Header().Get("Content-Type"), tc.status)
			}
			if got := rec.Body.String(); got != tc.want {
				t.Errorf("body\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

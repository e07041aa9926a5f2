package auth

import (
	"fmt"
	"net/http/httptest"
	"testing"
)

// BenchmarkAuthenticateBearer measures a request's authentication against
// an auth file of 1000 users: every user's token hash is compared, in
// constant time, whichever matches.
func BenchmarkAuthenticateBearer(b *testing.B) {
	cfg := &Config{}
	for i := range 1000 {
		cfg.Users = append(cfg.Users, User{Name: fmt.Sprintf("user%d", i), Token: fmt.Sprintf("token-%08d", i), Roles: []string{"dev"}})
	}
	a := NewAuthenticator(cfg)
	r := httptest.NewRequest("GET", "/applications", nil)
	r.Header.Set("Authorization", "Bearer token-00000500")
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

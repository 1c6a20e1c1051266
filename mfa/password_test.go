package mfa

import (
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct horse battery staple", "Pässwörd-🔑-with-ünïcode", ""} {
		h, err := HashPassword(pw)
		if err != nil {
			t.Fatalf("HashPassword: %v", err)
		}
		if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("hash %q is not an argon2id PHC string with the expected parameters", h)
		}
		if strings.Contains(h, pw) && pw != "" {
			t.Errorf("hash %q contains the password", h)
		}
		if ok, err := CheckPassword(h, pw); !ok || err != nil {
			t.Errorf("CheckPassword(HashPassword(%q), same) = false", pw)
		}
		if ok, err := CheckPasswordOrDummy(h, pw); !ok || err != nil {
			t.Errorf("CheckPasswordOrDummy(HashPassword(%q), same) = false", pw)
		}
		for _, wrong := range []string{pw + "x", " " + pw} {
			if ok, _ := CheckPassword(h, wrong); ok {
				t.Errorf("password %q matches the hash of %q", wrong, pw)
			}
		}
	}
}

func TestHashPasswordSalted(t *testing.T) {
	a, err1 := HashPassword("same password here")
	b, err2 := HashPassword("same password here")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if a == b {
		t.Error("two hashes of the same password are equal: the salt is not random")
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	good, err := HashPassword("a good password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$") // "", "argon2id", "v=19", "m=...,t=...,p=...", salt, key
	join := func(p ...string) string { return strings.Join(p, "$") }
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"plain text", "a good password"},
		{"dollars only", "$$$$$"},
		{"too few parts", join(parts[:5]...)},
		{"too many parts", good + "$extra"},
		{"other algorithm", join("", "argon2i", parts[2], parts[3], parts[4], parts[5])},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"no parameters", join("", "argon2id", parts[2], "", parts[4], parts[5])},
		{"garbage parameters", join("", "argon2id", parts[2], "m=x,t=y,p=z", parts[4], parts[5])},
		{"zero memory", join("", "argon2id", parts[2], "m=0,t=3,p=2", parts[4], parts[5])},
		{"zero time", join("", "argon2id", parts[2], "m=65536,t=0,p=2", parts[4], parts[5])},
		{"zero threads", join("", "argon2id", parts[2], "m=65536,t=3,p=0", parts[4], parts[5])},
		{"threads overflow", join("", "argon2id", parts[2], "m=65536,t=3,p=256", parts[4], parts[5])},
		{"negative memory", join("", "argon2id", parts[2], "m=-1,t=3,p=2", parts[4], parts[5])},
		{"huge memory", join("", "argon2id", parts[2], "m=4294967295,t=3,p=2", parts[4], parts[5])},
		{"bad salt base64", join("", "argon2id", parts[2], parts[3], "!!!", parts[5])},
		{"bad key base64", join("", "argon2id", parts[2], parts[3], parts[4], "@@@")},
		{"padded base64", join("", "argon2id", parts[2], parts[3], parts[4], parts[5]+"==")},
		{"empty key", join("", "argon2id", parts[2], parts[3], parts[4], "")},
		{"other key", join("", "argon2id", parts[2], parts[3], parts[4], strings.Repeat("A", len(parts[5])))},
		{"truncated key", join("", "argon2id", parts[2], parts[3], parts[4], parts[5][:10])},
		{"other salt", join("", "argon2id", parts[2], parts[3], strings.Repeat("A", len(parts[4])), parts[5])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("CheckPassword panicked on %q: %v", tt.hash, r)
				}
			}()
			if ok, err := CheckPassword(tt.hash, "a good password"); ok || err != nil {
				t.Errorf("CheckPassword(%q) = true", tt.hash)
			}
		})
	}
}

func TestCheckPasswordOrDummy(t *testing.T) {
	for _, pw := range []string{"", "anything", "not a real password, only for timing"} {
		if ok, err := CheckPasswordOrDummy("", pw); ok || err != nil {
			t.Errorf("CheckPasswordOrDummy(\"\", %q) = true, want false", pw)
		}
	}
}

func TestRandomPassword(t *testing.T) {
	a, b := RandomPassword(), RandomPassword()
	if len(a) != 24 || a == b {
		t.Errorf("RandomPassword() = %q, %q; want two different 24-character passwords", a, b)
	}
	if err := ValidatePassword(a); err != nil {
		t.Errorf("RandomPassword() %q is not a valid password: %v", a, err)
	}
	if strings.ContainsAny(a, "+/=") {
		t.Errorf("RandomPassword() %q is not URL-safe", a)
	}
}

func TestOlderHashParametersStillVerify(t *testing.T) {
	// A hash made with RFC 9106's 64 MiB parameters (this package's earlier default).
	const old = "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$"
	key := argon2IDForTest("hunter2-but-longer", "saltsaltsaltsalt", 3, 65536, 2)
	right, _ := CheckPassword(old+key, "hunter2-but-longer")
	wrong, _ := CheckPassword(old+key, "wrong")
	if !right || wrong {
		t.Fatal("a hash with other parameters does not verify")
	}
}

func argon2IDForTest(pw, salt string, t, m uint32, p uint8) string {
	return base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(pw), []byte(salt), t, m, p, 32))
}

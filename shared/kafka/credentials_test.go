package kafka

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCredentialChain pins which source msk-iam takes its credentials from, for every
// local setup the chain supports, and the setups it refuses with a specific error.
func TestCredentialChain(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	config := write("config", `# shared config
[default]
region = eu-west-1

[profile static]
aws_access_key_id = AKIDCONFIG
aws_secret_access_key = secret-config
s3 =
  max_concurrent_requests = 20

[profile process]
credential_process = printf '{"Version":1,"AccessKeyId":"AKIDPROCESS","SecretAccessKey":"secret-process"}'

[profile role]
role_arn = arn:aws:iam::123456789012:role/orders
source_profile = static

[profile sso]
sso_session = corp
sso_account_id = 123456789012

[profile region-only]
region = eu-west-1

[profile half]
aws_access_key_id = AKIDHALF
`)
	creds := write("credentials", `[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret-default
aws_session_token = token-default

[static]
aws_access_key_id = AKIDCREDSFILE
aws_secret_access_key = secret-credsfile
`)
	empty := filepath.Join(dir, "missing")
	container := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "container-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"AccessKeyId":"AKIDCONTAINER","SecretAccessKey":"secret-container","Token":"token-container","Expiration":%q}`,
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer container.Close()
	tokenFile := write("token", "container-token\n")

	files := map[string]string{"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": creds}
	noFiles := map[string]string{"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{"AWS_EC2_METADATA_DISABLED": "true", "HOME": dir}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		source  string // want this source and, if key is set, these credentials
		key     string
		wantErr string // or this error
	}{
		{name: "environment (Lambda)", env: with(files, "AWS_ACCESS_KEY_ID", "AKIDENV", "AWS_SECRET_ACCESS_KEY", "secret-env", "AWS_SESSION_TOKEN", "t", "AWS_PROFILE", "role"),
			source: "environment", key: "AKIDENV"},
		{name: "environment, old names", env: with(noFiles, "AWS_ACCESS_KEY", "AKIDOLD", "AWS_SECRET_KEY", "secret-old"),
			source: "environment", key: "AKIDOLD"},
		{name: "environment without secret", env: with(files, "AWS_ACCESS_KEY_ID", "AKIDENV"), wantErr: "AWS_SECRET_ACCESS_KEY: required"},
		{name: "web identity", env: with(files, "AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token", "AWS_ROLE_ARN", "arn:aws:iam::1:role/r"),
			wantErr: "AWS_WEB_IDENTITY_TOKEN_FILE: web identity credentials are not supported"},
		{name: "default profile, credentials file", env: with(files), source: "profile default", key: "AKIDDEFAULT"},
		{name: "default profile, files in HOME", env: map[string]string{"HOME": homeWith(t, creds), "AWS_EC2_METADATA_DISABLED": "true"},
			source: "profile default", key: "AKIDDEFAULT"},
		{name: "named profile, credentials file over config file", env: with(files, "AWS_PROFILE", "static"), source: "profile static", key: "AKIDCREDSFILE"},
		{name: "named profile, config file only", env: with(files, "AWS_PROFILE", "static", "AWS_SHARED_CREDENTIALS_FILE", empty),
			source: "profile static", key: "AKIDCONFIG"},
		{name: "credential_process", env: with(files, "AWS_PROFILE", "process"), source: "credential_process of profile process", key: "AKIDPROCESS"},
		{name: "assume-role profile", env: with(files, "AWS_PROFILE", "role"), wantErr: `profile "role" sets role_arn, which is not supported`},
		{name: "sso profile", env: with(files, "AWS_PROFILE", "sso"), wantErr: `profile "sso" sets sso_session, which is not supported`},
		{name: "profile with half a key pair", env: with(files, "AWS_PROFILE", "half"), wantErr: "needs both aws_access_key_id and aws_secret_access_key"},
		{name: "missing named profile", env: with(files, "AWS_PROFILE", "nope"), wantErr: `AWS_PROFILE: profile "nope" is in neither`},
		{name: "profile without credentials falls through to the container",
			env:    with(files, "AWS_PROFILE", "region-only", "AWS_CONTAINER_CREDENTIALS_FULL_URI", container.URL, "AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token"),
			source: "container endpoint", key: "AKIDCONTAINER"},
		{name: "container, token file", env: with(noFiles, "AWS_CONTAINER_CREDENTIALS_FULL_URI", container.URL, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenFile),
			source: "container endpoint", key: "AKIDCONTAINER"},
		{name: "container, plain http to another host", env: with(noFiles, "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds"),
			wantErr: "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http to example.com"},
		{name: "container, relative uri (ECS)", env: with(noFiles, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"), source: "container endpoint"},
		{name: "instance metadata", env: with(noFiles, "AWS_EC2_METADATA_DISABLED", ""), source: "ec2 instance metadata"},
		{name: "nothing", env: with(noFiles), wantErr: ErrNoCredentials.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := credentialsFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q (source %q)", err, tc.wantErr, src.Name)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.Name != tc.source {
				t.Fatalf("source = %q, want %q", src.Name, tc.source)
			}
			if tc.key == "" {
				return
			}
			c, err := src.Provider.Retrieve(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if c.AccessKeyID != tc.key || c.SecretAccessKey == "" {
				t.Fatalf("credentials %q/%q, want access key %q", c.AccessKeyID, c.SecretAccessKey, tc.key)
			}
		})
	}
}

// homeWith returns a HOME whose ~/.aws/credentials is a copy of creds.
func homeWith(t *testing.T, creds string) string {
	home := t.TempDir()
	b, err := os.ReadFile(creds)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// TestCredentialsRefreshBeforeExpiry: the cache keeps credentials while they are far
// from expiry, and asks the source again once they are within credentialsExpiryWindow of
// it, before any handshake could sign with lapsed ones.
func TestCredentialsRefreshBeforeExpiry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lifetime  time.Duration
		wantCalls int
	}{
		{"far from expiry: cached", time.Hour, 1},
		{"within the window: refreshed", credentialsExpiryWindow / 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				fmt.Fprintf(w, `{"AccessKeyId":"AKID%d","SecretAccessKey":"s","Token":"t","Expiration":%q}`,
					n, time.Now().Add(tc.lifetime).UTC().Format(time.RFC3339))
			}))
			defer srv.Close()
			env := map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL, "AWS_EC2_METADATA_DISABLED": "true", "HOME": t.TempDir()}
			src, err := credentialsFromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if _, err := src.Provider.Retrieve(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if got := int(calls.Load()); got != tc.wantCalls {
				t.Fatalf("source asked %d times for 3 retrieves, want %d", got, tc.wantCalls)
			}
		})
	}
}

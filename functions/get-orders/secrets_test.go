package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/go-sql-driver/mysql"
)

const (
	testKeyID  = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testToken  = "session-token"
	testARN    = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ordersync/reader-AbCdEf"
)

// fakeSecretsManager answers GetSecretValue the way the service documents it (AWS JSON
// 1.1), and refuses a request whose Signature Version 4 it does not recompute to the
// same value from the same keys, region and service.
type fakeSecretsManager struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	secrets map[string]string // SecretId → SecretString
	fail    []int             // statuses to answer before serving, one per request
	calls   int
}

func newFakeSecretsManager(t *testing.T) *fakeSecretsManager {
	f := &fakeSecretsManager{t: t, secrets: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSecretsManager) set(id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[id] = value
}

func (f *fakeSecretsManager) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.secrets, id)
}

func (f *fakeSecretsManager) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeSecretsManager) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	body, _ := io.ReadAll(r.Body)
	if problem := checkSigned(r, body); problem != "" {
		f.t.Errorf("request refused: %s", problem)
		answer(w, 400, "InvalidSignatureException", problem)
		return
	}
	if len(f.fail) > 0 {
		status := f.fail[0]
		f.fail = f.fail[1:]
		code := map[int]string{400: "ThrottlingException", 500: "InternalServiceError"}[status]
		answer(w, status, "com.amazonaws.secretsmanager#"+code, "injected")
		return
	}
	var in struct{ SecretId string }
	if err := json.Unmarshal(body, &in); err != nil {
		answer(w, 400, "SerializationException", err.Error())
		return
	}
	v, ok := f.secrets[in.SecretId]
	if !ok {
		answer(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	out := map[string]any{"ARN": in.SecretId, "Name": "ordersync/reader", "VersionId": "v1", "CreatedDate": 1.7e9}
	if v != "<binary>" {
		out["SecretString"] = v
	} else {
		out["SecretBinary"] = "AAEC"
	}
	json.NewEncoder(w).Encode(out)
}

func answer(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", "9b6f8a3e-0000-4000-8000-000000000000")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg)
}

// checkSigned returns what is wrong with r as a GetSecretValue call, or "".
func checkSigned(r *http.Request, body []byte) string {
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		return r.Method + " " + r.URL.Path
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		return "Content-Type " + r.Header.Get("Content-Type")
	case r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue":
		return "X-Amz-Target " + r.Header.Get("X-Amz-Target")
	case r.Header.Get("X-Amz-Security-Token") != testToken:
		return "no session token"
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "X-Amz-Date: " + err.Error()
	}
	// Sign a copy of the request as received and compare.
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, k := range []string{"Content-Type", "X-Amz-Target"} {
		again.Header.Set(k, r.Header.Get(k))
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: testToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), "secretsmanager", "eu-west-1", at); err != nil {
		return err.Error()
	}
	if got, want := r.Header.Get("Authorization"), again.Header.Get("Authorization"); got != want {
		return "signature " + got + ", want " + want
	}
	return ""
}

func setAWSKeys(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", testKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", testSecret)
	t.Setenv("AWS_SESSION_TOKEN", testToken)
}

// secretConfig is get-orders' configuration for DB_AUTH=secret against endpoint (host:port
// of a database) and the fake service.
func secretConfig(t *testing.T, f *fakeSecretsManager, endpoint, name string, more ...string) config {
	t.Helper()
	c, err := configFromEnv(env(append([]string{"DB_ENDPOINT", endpoint, "DB_NAME", name, "DB_TLS", "off",
		"DB_AUTH", "secret", "DB_SECRET_ARN", testARN, "AWS_REGION", "eu-west-1",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER", f.srv.URL}, more...)...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSecretsEndpoint(t *testing.T) {
	for _, tc := range []struct {
		region string
		env    []string
		want   string
	}{
		{"eu-west-1", nil, "https://secretsmanager.eu-west-1.amazonaws.com"},
		{"cn-north-1", nil, "https://secretsmanager.cn-north-1.amazonaws.com.cn"},
		{"eu-west-1", []string{"AWS_ENDPOINT_URL", "http://localhost:4566/"}, "http://localhost:4566"},
		{"eu-west-1", []string{"AWS_ENDPOINT_URL", "http://a", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "https://b"}, "https://b"},
		{"eu-west-1", []string{"AWS_ENDPOINT_URL", "http://a", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"}, "https://secretsmanager.eu-west-1.amazonaws.com"},
	} {
		if got := secretsEndpoint(tc.region, env(tc.env...)); got != tc.want {
			t.Errorf("%s %v: %s, want %s", tc.region, tc.env, got, tc.want)
		}
	}
}

// DB_AUTH=secret end to end: get-orders reads the secret at start-up with a signed
// GetSecretValue and logs in to MariaDB as the user the secret names.
func TestSecretLogin(t *testing.T) {
	setAWSKeys(t)
	maria := freshMaria(t)
	user, pass := "ordersync_secret_"+newID(t)[:8], "pw-"+newID(t)
	admin := maria.SQL
	for _, q := range []string{
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, pass),
		fmt.Sprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY '%s'", user, pass),
		fmt.Sprintf("GRANT SELECT ON `%s`.* TO '%s'@'%%', '%s'@'localhost'", maria.Name, user, user),
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { admin.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%', '%s'@'localhost'", user, user)) })

	f := newFakeSecretsManager(t)
	f.set(testARN, fmt.Sprintf(`{"engine":"mysql","username":%q,"password":%q}`, user, pass))
	sqldb, _, err := open(context.Background(), secretConfig(t, f, maria.Config().Addr, maria.Name))
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	var who string
	if err := sqldb.QueryRow("SELECT CURRENT_USER()").Scan(&who); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(who, user+"@") {
		t.Fatalf("logged in as %s, want %s", who, user)
	}
	if f.requests() != 1 {
		t.Fatalf("%d GetSecretValue calls, want 1 (at start-up)", f.requests())
	}
}

// The secret is read again for new connections once it is older than secretReuse, so
// a rotated password arrives without a cold start; a failed read keeps the old one.
func TestSecretReread(t *testing.T) {
	setAWSKeys(t)
	f := newFakeSecretsManager(t)
	f.set(testARN, `{"username":"reader","password":"one"}`)
	sc, err := newSecretCredentials(context.Background(), secretConfig(t, f, "db.example:3306", "orders"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sc.now = func() time.Time { return now }
	login := func() string {
		var cfg mysql.Config
		if err := sc.beforeConnect(context.Background(), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.User != "reader" {
			t.Fatalf("user %q", cfg.User)
		}
		return cfg.Passwd
	}
	f.set(testARN, `{"username":"reader","password":"two"}`)
	if got := login(); got != "one" || f.requests() != 1 {
		t.Fatalf("within its reuse time: password %q after %d calls, want the first read's", got, f.requests())
	}
	now = now.Add(secretReuse + time.Second)
	if got := login(); got != "two" || f.requests() != 2 {
		t.Fatalf("after its reuse time: password %q after %d calls, want the rotated one", got, f.requests())
	}
	f.remove(testARN) // the next read fails
	now = now.Add(secretReuse + time.Second)
	if got := login(); got != "two" {
		t.Fatalf("a failed read: password %q, want the last good one", got)
	}
}

// Errors stop get-orders at start-up with the secret, the service's exception and its
// request id; throttling and server errors are retried as the SDK retries them.
func TestSecretErrors(t *testing.T) {
	setAWSKeys(t)
	for _, tc := range []struct {
		name   string
		secret string // "" : not stored
		fail   []int
		want   []string
		is     error
		calls  int
	}{
		{name: "unknown secret", want: []string{testARN, "ResourceNotFoundException", "can't find", "HTTP 400", "9b6f8a3e-"}, calls: 1},
		{name: "not JSON", secret: "hunter2", is: ErrSecret, calls: 1},
		{name: "no password", secret: `{"username":"reader"}`, is: ErrSecret, calls: 1},
		{name: "binary secret", secret: "<binary>", is: ErrSecret, calls: 1},
		{name: "throttled twice", secret: `{"username":"reader","password":"p"}`, fail: []int{400, 400}, calls: 3},
		{name: "server error then answer", secret: `{"username":"reader","password":"p"}`, fail: []int{500}, calls: 2},
		{name: "server errors throughout", secret: `{"username":"reader","password":"p"}`, fail: []int{500, 500, 500, 500},
			want: []string{"InternalServiceError", "HTTP 500"}, calls: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSecretsManager(t)
			if tc.secret != "" {
				f.set(testARN, tc.secret)
			}
			f.fail = tc.fail
			_, _, err := open(context.Background(), secretConfig(t, f, "db.example:3306", "orders"))
			switch {
			case tc.want == nil && tc.is == nil && err != nil:
				t.Fatalf("open: %v", err)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("open: %v, want %v", err, tc.is)
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("open: %v, want %q in it", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the secret: %v", err)
			}
			if f.requests() != tc.calls {
				t.Errorf("%d calls, want %d", f.requests(), tc.calls)
			}
		})
	}
}

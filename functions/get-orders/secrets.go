package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// secretsManager reads secrets with the Secrets Manager API's one call get-orders
// needs, GetSecretValue: a POST in the AWS JSON 1.1 protocol, signed by the SDK's
// Signature Version 4 signer and retried by the SDK's standard retry policy. The SDK's
// service client does the same through far more code, whose package initialisation
// alone made every cold start of get-orders, in every DB_AUTH mode, slower by about a
// fifth of a hello function's init (BENCHMARKS.md).
type secretsManager struct {
	endpoint string // https://secretsmanager.<region>.<partition domain>, or the configured endpoint URL
	region   string
	creds    aws.CredentialsProvider
	http     *http.Client
	signer   *v4.Signer
	retry    *retry.Standard
}

// maxSecretResponse bounds a response body: a secret holds at most 64 KiB.
const maxSecretResponse = 1 << 20

func newSecretsManager(endpoint, region string, creds aws.CredentialsProvider) *secretsManager {
	return &secretsManager{
		endpoint: endpoint,
		region:   region,
		creds:    creds,
		http:     &http.Client{},
		signer:   v4.NewSigner(),
		retry:    retry.NewStandard(),
	}
}

// secretsEndpoint is the endpoint the SDKs use: the service's own endpoint URL
// (AWS_ENDPOINT_URL_SECRETS_MANAGER), else the global one (AWS_ENDPOINT_URL), unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true; else the Region's public endpoint (a VPC
// interface endpoint with private DNS answers to the same name).
func secretsEndpoint(region string, getenv func(string) string) string {
	if !strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		for _, k := range []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"} {
			if u := getenv(k); u != "" {
				return strings.TrimRight(u, "/")
			}
		}
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return "https://secretsmanager." + region + "." + domain
}

// An apiError is an error answer of the API. Its methods are those the SDK's retry
// policy reads.
type apiError struct {
	Status    int
	Code      string // the exception's name, such as ResourceNotFoundException
	Message   string
	RequestID string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d, request id %s)", e.Code, e.Message, e.Status, e.RequestID)
}
func (e *apiError) ErrorCode() string   { return e.Code }
func (e *apiError) HTTPStatusCode() int { return e.Status }

// secretString returns the SecretString of the secret id (an ARN or a name), retrying
// throttling, server errors and broken connections as the SDK would, within ctx.
func (sm *secretsManager) secretString(ctx context.Context, id string) (string, error) {
	body, err := json.Marshal(struct{ SecretId string }{id})
	if err != nil {
		return "", err
	}
	for attempt := 1; ; attempt++ {
		s, err := sm.getSecretValue(ctx, body)
		if err == nil || attempt >= sm.retry.MaxAttempts() || !sm.retry.IsErrorRetryable(err) || ctx.Err() != nil {
			if err != nil {
				err = fmt.Errorf("secretsmanager GetSecretValue: %w", err)
			}
			return s, err
		}
		delay, derr := sm.retry.RetryDelay(attempt, err)
		if derr != nil {
			return "", fmt.Errorf("secretsmanager GetSecretValue: %w", err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("secretsmanager GetSecretValue: %w (then %w)", err, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// getSecretValue makes one attempt.
func (sm *secretsManager) getSecretValue(ctx context.Context, body []byte) (string, error) {
	creds, err := sm.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("aws credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sm.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	sum := sha256.Sum256(body)
	if err := sm.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", sm.region, time.Now()); err != nil {
		return "", err
	}
	resp, err := sm.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxSecretResponse))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", answerError(resp, raw)
	}
	var out struct{ SecretString *string }
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("answer is not JSON: %w", err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("%w: the secret has no SecretString (a binary secret)", ErrSecret)
	}
	return *out.SecretString, nil
}

// answerError reads an error answer: the exception's name comes in the X-Amzn-ErrorType
// header or the body's __type, either possibly qualified (a namespace before '#', a URL
// after ':'); the message in the body's message or Message.
func answerError(resp *http.Response, raw []byte) error {
	var b struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Upper   string `json:"Message"`
	}
	_ = json.Unmarshal(raw, &b)
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" {
		code = b.Type
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	msg := b.Message
	if msg == "" {
		msg = b.Upper
	}
	return &apiError{Status: resp.StatusCode, Code: code, Message: msg, RequestID: resp.Header.Get("X-Amzn-RequestId")}
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/go-sql-driver/mysql"
)

// credentials give each new database connection its user and password. The pool
// connects rarely (two connections, reused for minutes), so this runs rarely too.
type credentials interface {
	beforeConnect(ctx context.Context, cfg *mysql.Config) error
}

// How long credentials are reused before being made again. An RDS IAM token is valid
// for 15 minutes; a new one is made well before. A secret is read again after a while,
// so that a rotated password reaches new connections without a cold start.
const (
	tokenReuse  = 10 * time.Minute
	secretReuse = 15 * time.Minute
	secretRead  = 5 * time.Second
)

// awsCredentials are the function's role credentials, which Lambda puts in the
// environment. The SDK's config package would find them the same way, at a far higher
// start-up cost.
func awsCredentials() (aws.CredentialsProvider, error) {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, fmt.Errorf("%w: no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)", ErrConfig)
	}
	return aws.NewCredentialsCache(awscreds.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))), nil
}

// iamCredentials make RDS IAM authentication tokens for one user.
type iamCredentials struct {
	endpoint, region, user string
	provider               aws.CredentialsProvider
	now                    func() time.Time

	mu    sync.Mutex
	token string
	made  time.Time
}

func newIAMCredentials(c config, endpoint string) (*iamCredentials, error) {
	p, err := awsCredentials()
	if err != nil {
		return nil, err
	}
	return &iamCredentials{endpoint: endpoint, region: c.region, user: c.user, provider: p, now: time.Now}, nil
}

func (ic *iamCredentials) beforeConnect(ctx context.Context, cfg *mysql.Config) error {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.token == "" || ic.now().Sub(ic.made) > tokenReuse {
		t, err := auth.BuildAuthToken(ctx, ic.endpoint, ic.region, ic.user, ic.provider)
		if err != nil {
			return fmt.Errorf("rds iam token for %s: %w", ic.user, err)
		}
		ic.token, ic.made = t, ic.now()
	}
	cfg.User, cfg.Passwd = ic.user, ic.token
	return nil
}

// secretCredentials read user and password from a Secrets Manager secret in the
// format RDS and Secrets Manager rotation use: {"username": ..., "password": ...}.
type secretCredentials struct {
	client *secretsManager
	arn    string
	user   string // DB_USER; the secret's username when empty
	now    func() time.Time

	mu             sync.Mutex
	username, pass string
	read           time.Time
}

// ErrSecret is returned for a secret without a username or password.
var ErrSecret = errors.New("database secret unusable")

// newSecretCredentials reads the secret once, at start-up, so that a wrong ARN or a
// missing permission stops the function with one clear line.
func newSecretCredentials(ctx context.Context, c config) (*secretCredentials, error) {
	p, err := awsCredentials()
	if err != nil {
		return nil, err
	}
	sc := &secretCredentials{
		client: newSecretsManager(c.secretsURL, c.region, p),
		arn:    c.secretARN, user: c.user, now: time.Now,
	}
	rctx, cancel := context.WithTimeout(ctx, secretRead)
	defer cancel()
	if err := sc.refresh(rctx); err != nil {
		return nil, err
	}
	return sc, nil
}

func (sc *secretCredentials) refresh(ctx context.Context) error {
	s, err := sc.client.secretString(ctx, sc.arn)
	if err != nil {
		return fmt.Errorf("read database secret %s: %w", sc.arn, err)
	}
	var v struct{ Username, Password string }
	if json.Unmarshal([]byte(s), &v) != nil {
		return fmt.Errorf("%w: %s is not a JSON object with username and password", ErrSecret, sc.arn)
	}
	if v.Username == "" && sc.user == "" || v.Password == "" {
		return fmt.Errorf("%w: %s has no username or no password", ErrSecret, sc.arn)
	}
	sc.username, sc.pass, sc.read = v.Username, v.Password, sc.now()
	if sc.user != "" {
		sc.username = sc.user
	}
	return nil
}

func (sc *secretCredentials) beforeConnect(ctx context.Context, cfg *mysql.Config) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.now().Sub(sc.read) > secretReuse {
		// A failed read keeps the password in hand: it is most likely still valid, and
		// the connection attempt says soon enough if it is not.
		_ = sc.refresh(ctx)
	}
	cfg.User, cfg.Passwd = sc.username, sc.pass
	return nil
}

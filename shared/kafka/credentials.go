package kafka

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// The credentials of msk-iam come from the sources of the AWS SDK's default chain, in its
// order, but without aws-sdk-go-v2/config: that package links the sso, ssooidc, sts and
// signin clients, whose package init (endpoint tables, schemas) every mode paid at start-up.
// What it needs the STS or SSO APIs for (assume-role, web identity, sso_* profiles) is
// refused with an error that names the setting; a profile can still reach any of them
// through credential_process, e.g.
//
//	credential_process = aws configure export-credentials --profile my-sso --format process
//
// Sources, first match wins:
//  1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (Lambda);
//  2. the profile AWS_PROFILE (else "default") of the shared config and credentials files
//     (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE; ~/.aws/config, ~/.aws/credentials):
//     static keys or credential_process;
//  3. the container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI (ECS,
//     EKS Pod Identity), with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE);
//  4. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true.

// credentialsExpiryWindow is how long before they expire cached credentials are
// refreshed, so that no SASL handshake signs with credentials about to lapse.
const credentialsExpiryWindow = 5 * time.Minute

// Errors of the credential chain, wrapped with the setting that caused them.
var (
	// ErrNoCredentials: no source of the chain is configured.
	ErrNoCredentials = errors.New("no aws credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or a container endpoint")
	// ErrUnsupportedCredentials: a profile or variable needs the STS or SSO APIs.
	ErrUnsupportedCredentials = errors.New("not supported for msk-iam (it needs the STS or SSO APIs); " +
		"export the credentials (aws configure export-credentials --format env) or use credential_process")
)

// credentialSource is a chosen source of the chain: its provider (not yet asked for
// credentials) and a name for logs and tests.
type credentialSource struct {
	Name     string
	Provider aws.CredentialsProvider
}

// credentialsFromEnv picks the first configured source of the chain. It reads only
// variables and, when no credentials are in the environment, the shared files; it never
// makes a network call or runs a process. The provider it returns is wrapped in an
// aws.CredentialsCache.
func credentialsFromEnv(getenv func(string) string) (credentialSource, error) {
	src, err := pickCredentials(getenv)
	if err != nil {
		return credentialSource{}, err
	}
	src.Provider = aws.NewCredentialsCache(src.Provider, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = credentialsExpiryWindow
	})
	return src, nil
}

func pickCredentials(getenv func(string) string) (credentialSource, error) {
	if src, ok, err := envCredentials(getenv); ok || err != nil {
		return src, err
	}
	if v := getenv("AWS_WEB_IDENTITY_TOKEN_FILE"); v != "" {
		return credentialSource{}, &ConfigError{"AWS_WEB_IDENTITY_TOKEN_FILE", "web identity credentials are " + ErrUnsupportedCredentials.Error()}
	}
	if src, ok, err := profileCredentials(getenv); ok || err != nil {
		return src, err
	}
	if src, ok, err := containerCredentials(getenv); ok || err != nil {
		return src, err
	}
	if strings.EqualFold(getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return credentialSource{}, ErrNoCredentials
	}
	endpoint := getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")
	return credentialSource{Name: "ec2 instance metadata", Provider: ec2rolecreds.New(func(o *ec2rolecreds.Options) {
		o.Client = imds.New(imds.Options{Endpoint: endpoint})
	})}, nil
}

// envCredentials reads static credentials from the environment, as Lambda sets them.
func envCredentials(getenv func(string) string) (credentialSource, bool, error) {
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" {
		id = getenv("AWS_ACCESS_KEY")
	}
	if secret == "" {
		secret = getenv("AWS_SECRET_KEY")
	}
	switch {
	case id == "" && secret == "":
		return credentialSource{}, false, nil
	case id == "":
		return credentialSource{}, false, &ConfigError{"AWS_ACCESS_KEY_ID", "required when AWS_SECRET_ACCESS_KEY is set"}
	case secret == "":
		return credentialSource{}, false, &ConfigError{"AWS_SECRET_ACCESS_KEY", "required when AWS_ACCESS_KEY_ID is set"}
	}
	p := credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN"))
	return credentialSource{Name: "environment", Provider: p}, true, nil
}

// profileCredentials reads the profile AWS_PROFILE (else "default") from the shared
// files. A missing default profile is no error; a missing named one is.
func profileCredentials(getenv func(string) string) (credentialSource, bool, error) {
	name, named := getenv("AWS_PROFILE"), true
	if name == "" {
		name, named = "default", false
	}
	prof, found, err := loadProfile(getenv, name)
	if err != nil {
		return credentialSource{}, false, err
	}
	if !found {
		if named {
			return credentialSource{}, false, &ConfigError{"AWS_PROFILE", fmt.Sprintf("profile %q is in neither the shared config nor the credentials file", name)}
		}
		return credentialSource{}, false, nil
	}
	for _, k := range []string{"role_arn", "source_profile", "credential_source", "web_identity_token_file", "sso_session", "sso_start_url", "sso_account_id", "login_session"} {
		if prof[k] != "" {
			return credentialSource{}, false, &ConfigError{"AWS_PROFILE", fmt.Sprintf("profile %q sets %s, which is %v", name, k, ErrUnsupportedCredentials)}
		}
	}
	if id, secret := prof["aws_access_key_id"], prof["aws_secret_access_key"]; id != "" || secret != "" {
		if id == "" || secret == "" {
			return credentialSource{}, false, &ConfigError{"AWS_PROFILE", fmt.Sprintf("profile %q needs both aws_access_key_id and aws_secret_access_key", name)}
		}
		p := credentials.NewStaticCredentialsProvider(id, secret, prof["aws_session_token"])
		return credentialSource{Name: "profile " + name, Provider: p}, true, nil
	}
	if cmd := prof["credential_process"]; cmd != "" {
		return credentialSource{Name: "credential_process of profile " + name, Provider: processcreds.NewProvider(cmd)}, true, nil
	}
	return credentialSource{}, false, nil
}

// loadProfile returns the settings of profile name: those of the credentials file over
// those of the config file. A file that does not exist counts as empty.
func loadProfile(getenv func(string) string, name string) (map[string]string, bool, error) {
	home := getenv("HOME")
	configFile := getenv("AWS_CONFIG_FILE")
	if configFile == "" && home != "" {
		configFile = filepath.Join(home, ".aws", "config")
	}
	credsFile := getenv("AWS_SHARED_CREDENTIALS_FILE")
	if credsFile == "" && home != "" {
		credsFile = filepath.Join(home, ".aws", "credentials")
	}
	section := "profile " + name
	if name == "default" {
		section = "default" // the config file also accepts [profile default]
	}
	prof, found, err := readSection(configFile, section, "profile "+name)
	if err != nil {
		return nil, false, err
	}
	creds, foundCreds, err := readSection(credsFile, name, name)
	if err != nil {
		return nil, false, err
	}
	for k, v := range creds {
		prof[k] = v
	}
	return prof, found || foundCreds, nil
}

// readSection returns the key = value pairs of the ini section named a or b in file.
// Indented lines continue a nested value (e.g. s3 =) and are skipped.
func readSection(file, a, b string) (map[string]string, bool, error) {
	kv := map[string]string{}
	if file == "" {
		return kv, false, nil
	}
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return kv, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("aws shared file: %w", err)
	}
	defer f.Close()
	found, in := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			name := strings.Join(strings.Fields(strings.Trim(line, "[]")), " ")
			in = name == a || name == b
			found = found || in
		case in && raw[0] != ' ' && raw[0] != '\t':
			if k, v, ok := strings.Cut(line, "="); ok {
				kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("aws shared file %s: %w", file, err)
	}
	return kv, found, nil
}

// containerCredentials configures the container credentials endpoint (ECS task roles,
// EKS Pod Identity), as the SDK does: a relative URI on 169.254.170.2, or a full URI
// that is HTTPS or on a loopback or the container endpoints' link-local address.
func containerCredentials(getenv func(string) string) (credentialSource, bool, error) {
	endpoint := getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if rel := getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		endpoint = "http://169.254.170.2" + rel
	} else if endpoint == "" {
		return credentialSource{}, false, nil
	} else if err := allowedContainerURI(endpoint); err != nil {
		return credentialSource{}, false, &ConfigError{"AWS_CONTAINER_CREDENTIALS_FULL_URI", err.Error()}
	}
	token, tokenFile := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"), getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	p := endpointcreds.New(endpoint, func(o *endpointcreds.Options) {
		o.AuthorizationToken = token
		if tokenFile != "" { // read on every refresh: the agent rotates it
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return "", fmt.Errorf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %w", err)
				}
				return strings.TrimSpace(string(b)), nil
			})
		}
	})
	return credentialSource{Name: "container endpoint", Provider: p}, true, nil
}

func allowedContainerURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("invalid URL %q", raw)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme != "http" {
		return fmt.Errorf("scheme of %q is neither http nor https", raw)
	}
	host := u.Hostname()
	if host == "localhost" || host == "169.254.170.2" || host == "169.254.170.23" || host == "fd00:ec2::23" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("plain http to %s: only loopback and the container endpoints are allowed without TLS", host)
}

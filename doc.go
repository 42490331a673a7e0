// Package ordersync holds the repository-level tests of the ordersync bundle: the AWS SAM
// template against the SAM schema and the Makefile, the Lambda builds, the sample events
// in events/, and the docs (README.md and docs/). The code itself lives in functions/,
// shared/, sink/, cmd/ and local/.
package ordersync

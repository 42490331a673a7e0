// Package ordersync holds the repository-level tests of the ordersync bundle: the AWS SAM
// template against the SAM schema and the Makefile, the Lambda builds, and the sample
// events in events/. The code itself lives in functions/, shared/ and local/.
package ordersync

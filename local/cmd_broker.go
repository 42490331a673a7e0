package main

import "errors"

func runBroker(args []string) error { return errors.New("broker: not available yet") }

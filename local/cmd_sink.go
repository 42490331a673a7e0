package main

import "errors"

func runSink(args []string) error { return errors.New("sink: not available yet") }

package main

import "errors"

func runStack(args []string) error { return errors.New("stack: not available yet") }

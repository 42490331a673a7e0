package main

import "errors"

func runMigrate(args []string) error { return errors.New("migrate: not available yet") }

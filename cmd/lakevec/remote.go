package main

import "github.com/spf13/cobra"

func installRemote(root *cobra.Command) {}

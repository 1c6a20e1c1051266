package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graph"
)

// graphSettings choose the directory and configure the Microsoft Graph one (SPEC §6).
type graphSettings struct {
	Directory    string // embedded or graph
	TenantID     string
	ClientID     string
	ClientSecret string // MFAPORTAL_GRAPH_CLIENT_SECRET only: never a flag
	Certificate  string
	Cloud        string
	BaseURL      string
	AuthorityURL string
	CAFile       string
	SyncInterval time.Duration
}

func graphFlags(fs *flag.FlagSet, g *graphSettings) {
	fs.StringVar(&g.Directory, "directory", "embedded", "where users live: embedded (SQLite in the data folder) or graph (Microsoft Graph)")
	fs.StringVar(&g.TenantID, "graph-tenant-id", "", "Microsoft Entra tenant id or domain (directory=graph)")
	fs.StringVar(&g.ClientID, "graph-client-id", "", "application (client) id of the app registration (directory=graph); the secret is MFAPORTAL_GRAPH_CLIENT_SECRET")
	fs.StringVar(&g.Certificate, "graph-certificate", "", "PEM file with the app's certificate and private key, instead of a client secret")
	fs.StringVar(&g.Cloud, "graph-cloud", "global", "national cloud: global, usgov or china")
	fs.StringVar(&g.BaseURL, "graph-base-url", "", "override Graph's URL, e.g. https://127.0.0.1:8443 for graph-emulator")
	fs.StringVar(&g.AuthorityURL, "graph-authority-url", "", "override the sign-in service's URL, e.g. the emulator's")
	fs.StringVar(&g.CAFile, "graph-ca-file", "", "PEM file of an extra certificate authority to trust (graph-emulator's)")
	fs.DurationVar(&g.SyncInterval, "graph-sync-interval", 30*time.Minute, "how often the local index is read in full from Graph")
}

func (g *graphSettings) validate() error {
	switch strings.ToLower(g.Directory) {
	case "", "embedded":
		g.Directory = "embedded"
		return nil
	case "graph":
		g.Directory = "graph"
	default:
		return fmt.Errorf("--directory %q: expected embedded or graph", g.Directory)
	}
	if g.SyncInterval != 0 && g.SyncInterval < time.Minute {
		return fmt.Errorf("--graph-sync-interval %v: at least 1m", g.SyncInterval)
	}
	return nil
}

// useGraph makes deps work on Microsoft Graph, with its local index in the portal's store, and
// returns the directory (Run it to keep the index fresh; Close it at the end). The store keeps the
// index of users read from Graph (mfa.ExternalIndex, part of graph.Store): SQLite in the data
// folder, or PostgreSQL.
func useGraph(g graphSettings, st store, deps *mfa.Deps, log *slog.Logger) (*graph.Directory, error) {
	gs, ok := st.(graph.Store)
	if !ok {
		return nil, usageError{"MFAPORTAL_DIRECTORY=graph: this store cannot keep Graph's local index"}
	}
	d, err := graph.New(graph.Config{
		TenantID: g.TenantID, ClientID: g.ClientID, ClientSecret: g.ClientSecret, CertificateFile: g.Certificate,
		Cloud: g.Cloud, BaseURL: g.BaseURL, AuthorityURL: g.AuthorityURL, CAFile: g.CAFile, SyncInterval: g.SyncInterval,
	}, gs, log)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	deps.Directory, deps.Settings, deps.Importer = d, d, nil
	return d, nil
}

package mfa

import "context"

type actorKey struct{}

// NewContextWithActor returns a context carrying the acting admin.
func NewContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the acting admin, and false when nobody is signed in.
func ActorFromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

type clientAddrKey struct{}

// NewContextWithClientAddr returns a context carrying the client's address: the peer's, or behind
// a trusted reverse proxy the address it forwarded (web computes it once per request).
func NewContextWithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFromContext returns the client's address, "" when the context has none.
func ClientAddrFromContext(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

type capabilitiesKey struct{}

// NewContextWithCapabilities returns a context carrying what the directory can do, for pages that
// show or hide a part by it (the navigation's Conditional Access tab).
func NewContextWithCapabilities(ctx context.Context, c Capabilities) context.Context {
	return context.WithValue(ctx, capabilitiesKey{}, c)
}

// CapabilitiesFromContext returns the directory's capabilities, and false when the context has none.
func CapabilitiesFromContext(ctx context.Context) (Capabilities, bool) {
	c, ok := ctx.Value(capabilitiesKey{}).(Capabilities)
	return c, ok
}
